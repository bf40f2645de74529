"""COCO detection format (Lin et al., "Microsoft COCO: Common Objects in Context",
arXiv:1405.0312; format at https://cocodataset.org/#format-data): reader, validator and writer.

The writer's output feeds ``faster_coco_eval.COCO`` directly: ground truth as the whole dict,
detections as ``to_coco(...)["annotations"]`` (each carries ``score``) to ``COCO.loadRes``.

Choices where the format is silent:

- Category ids may be any integers; Specks class ids are their rank in sorted order, and the
  writer uses ``category_id = class id + 1`` (COCO's ids start at 1).
- JSON has no useful line numbers, so errors name the JSON location, e.g.
  ``instances.json:annotations[12]``.
- ``bbox`` is ``[x, y, w, h]`` in pixels with ``w, h > 0``; a box may stick out of its image
  by at most ``EDGE_TOLERANCE_PX`` (then clipped), more is an error.
- ``iscrowd=1`` annotations are not boxes to detect; they are left out and counted in the log.
- ``file_name`` is resolved against ``image_dir`` (default: the JSON's folder). Images are
  decoded to validate them unless ``verify_images=False``; a decoded size that disagrees with
  the JSON's ``width``/``height`` is an error.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .boxes import (
    DatasetError,
    DetectionSet,
    DropReport,
    ImageRecord,
    Validator,
    read_image,
    read_text,
)

log = logging.getLogger(__name__)

EDGE_TOLERANCE_PX = 1.0


def _load(source: str | Path | Mapping) -> tuple[str, Mapping]:
    if isinstance(source, Mapping):
        file, data = "<dict>", source
    else:
        file, data = str(source), _read_json(Path(source))
    if not isinstance(data, Mapping):
        raise DatasetError(file, None, "expected a JSON object with images, annotations and "
                           "categories")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key, []), list):
            raise DatasetError(file, key, f"'{key}' must be a list")
    return file, data


def _read_json(path: Path) -> object:
    if not path.is_file():
        raise DatasetError(path, None, "COCO JSON file not found")
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise DatasetError(path, error.lineno, f"bad JSON: {error.msg}") from None


def _categories(file: str, data: Mapping) -> tuple[list[str], dict[int, int]]:
    cats = data.get("categories")
    if not isinstance(cats, list) or not cats:
        raise DatasetError(file, "categories", "missing or empty 'categories' list")
    try:
        ordered = sorted(cats, key=lambda c: int(c["id"]))
        names = [str(c["name"]) for c in ordered]
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise DatasetError(file, "categories",
                           f"each category needs id and name ({error})") from None
    ids = [int(c["id"]) for c in ordered]
    if len(set(ids)) != len(ids):
        raise DatasetError(file, "categories", f"duplicate category ids {ids}")
    return names, {cid: i for i, cid in enumerate(ids)}


def read_coco(source: str | Path | Mapping, image_dir: str | Path | None = None,
              strict: bool = True, verify_images: bool = True) -> DetectionSet:
    """Read a COCO detection JSON (path or already-loaded dict) into records. Strict mode
    raises :class:`DatasetError`; lenient mode drops bad images/annotations into ``.report``."""
    file, data = _load(source)
    names, cat_index = _categories(file, data)
    root = Path(image_dir) if image_dir is not None else (
        Path(file).parent if file != "<dict>" else Path("."))
    check = Validator(strict, DropReport())
    images = _images(file, data, root, check, verify_images)
    boxes: dict[int, list[np.ndarray]] = {i: [] for i in images}
    labels: dict[int, list[int]] = {i: [] for i in images}
    crowd = 0
    for n, ann in enumerate(data.get("annotations", [])):
        if isinstance(ann, Mapping) and ann.get("iscrowd", 0):
            crowd += 1
            continue
        try:
            image_id, cls, xyxy = _annotation(file, n, ann, images, cat_index)
        except DatasetError as error:
            check.fail(error)
            continue
        if image_id in boxes:  # its image may have been dropped in lenient mode
            boxes[image_id].append(xyxy)
            labels[image_id].append(cls)
    if crowd:
        log.info("%s: left out %d iscrowd annotations", file, crowd)
    records = [ImageRecord(rec.path, rec.width, rec.height, np.asarray(boxes[i], np.float32),
                           np.asarray(labels[i], np.int64)) for i, rec in images.items()]
    check.report.log_summary(file)
    return DetectionSet(records, names, check.report)


def _images(file: str, data: Mapping, root: Path, check: Validator,
            verify: bool) -> dict[int, ImageRecord]:
    images: dict[int, ImageRecord] = {}
    for n, img in enumerate(data.get("images") or []):
        where = f"images[{n}]"
        try:
            image_id, name = int(img["id"]), img["file_name"]
            width, height = int(img["width"]), int(img["height"])
            if not isinstance(name, str):
                raise TypeError(f"file_name is {type(name).__name__}, not a string")
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            check.fail(DatasetError(file, where, f"needs id, file_name, width, height ({error})"))
            continue
        if image_id in images:
            check.fail(DatasetError(file, where, f"duplicate image id {image_id}"))
            continue
        record = ImageRecord(root / name, width, height)
        if verify:
            try:
                shape = read_image(record.path).shape[:2]
            except DatasetError as error:
                check.fail(DatasetError(file, where, f"{error.file}: {error.reason}"))
                continue
            if shape != (height, width):
                check.fail(DatasetError(file, where, f"image is {shape[1]}x{shape[0]} but JSON "
                                        f"says {width}x{height}"))
                continue
        images[image_id] = record
    return images


def _annotation(file: str, n: int, ann: Mapping, images: Mapping[int, ImageRecord],
                cat_index: Mapping[int, int]) -> tuple[int, int, np.ndarray]:
    where = f"annotations[{n}]"
    try:
        image_id, cat = int(ann["image_id"]), int(ann["category_id"])
        bbox = [float(v) for v in ann["bbox"]]
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise DatasetError(file, where, f"needs image_id, category_id and numeric bbox "
                           f"({error})") from None
    if cat not in cat_index:
        raise DatasetError(file, where, f"unknown category_id {cat}")
    if len(bbox) != 4 or not all(math.isfinite(v) for v in bbox):
        raise DatasetError(file, where, f"bbox must be 4 finite numbers, got {ann['bbox']}")
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        raise DatasetError(file, where, f"zero-size bbox {ann['bbox']}")
    record = images.get(image_id)
    if record is None:
        raise DatasetError(file, where, f"image_id {image_id} is not among the images")
    xyxy = np.array([x, y, x + w, y + h])
    limit = np.array([record.width, record.height] * 2)
    if xyxy.min() < -EDGE_TOLERANCE_PX or (xyxy > limit + EDGE_TOLERANCE_PX).any():
        raise DatasetError(file, where, f"bbox {ann['bbox']} outside the "
                           f"{record.width}x{record.height} image")
    return image_id, cat_index[cat], np.clip(xyxy, 0, limit)


def to_coco(records: Sequence[ImageRecord], names: Sequence[str], root: str | Path | None = None,
            image_ids: Mapping[Path, int] | None = None) -> dict:
    """Records -> COCO dict. ``file_name`` is relative to ``root`` when given. Image ids are
    ``1..N`` in record order unless ``image_ids`` maps paths to ids (use the ground truth's map
    when converting detections, so the two agree). Records with ``scores`` give annotations with
    ``score``, ready for ``COCO.loadRes``."""
    images, annotations = [], []
    for n, rec in enumerate(records):
        image_id = image_ids[rec.path] if image_ids is not None else n + 1
        name = rec.path.relative_to(root) if root is not None else rec.path
        images.append({"id": image_id, "file_name": str(name), "width": rec.width,
                       "height": rec.height})
        for k, (box, cls) in enumerate(zip(rec.boxes.tolist(), rec.labels.tolist(), strict=True)):
            w, h = box[2] - box[0], box[3] - box[1]
            ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": cls + 1,
                   "bbox": [box[0], box[1], w, h], "area": w * h, "iscrowd": 0}
            if rec.scores is not None:
                ann["score"] = float(rec.scores[k])
            annotations.append(ann)
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}


def image_id_map(coco: Mapping, root: str | Path | None = None) -> dict[Path, int]:
    """``file_name`` (joined to ``root`` when given) -> image id, for :func:`to_coco`."""
    base = Path(root) if root is not None else Path()
    return {base / img["file_name"]: int(img["id"]) for img in coco["images"]}
