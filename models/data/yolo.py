"""Ultralytics YOLO dataset layout: reader, validator and writer.

Layout (https://docs.ultralytics.com/datasets/detect/): a ``data.yaml`` with ``path`` (dataset
root), ``train`` / ``val`` / ``test`` (a folder of images, a ``.txt`` list of image paths, or a
list of either, relative to ``path``) and ``names`` (a list, or a dict ``{id: name}``). Each
image ``.../images/.../x.jpg`` has a label file ``.../labels/.../x.txt`` with one line
``cls cx cy w h`` per box, coordinates normalised to ``[0, 1]``. A missing label file means a
background image.

Choices where the format is silent or Ultralytics is lenient:

- ``path`` relative, or absent, is resolved against the folder holding ``data.yaml``.
  # NOTE: Ultralytics resolves a relative ``path`` against its global DATASETS_DIR instead.
- A line must have exactly 5 fields (segment polygons are rejected, not converted); ``cls``
  must be an integer below ``len(names)``; ``cx cy w h`` must be finite, in ``[0, 1]``, with
  ``w, h > 0``, and the box edges inside the image up to ``EDGE_TOLERANCE`` (then clipped).
- A label file with no image is an error (it usually means a renamed or deleted image).
- Blank lines are allowed; duplicated lines are kept (Ultralytics drops them with a warning).
- Images are decoded on load: that both validates them and gives the size needed to turn
  normalised boxes into pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import yaml

from firmware_py.yaml_error import yaml_problem

from .boxes import (
    IMAGE_SUFFIXES,
    DatasetError,
    DetectionSet,
    DropReport,
    ImageRecord,
    Validator,
    read_image,
    read_text,
)

EDGE_TOLERANCE = 1e-3  # normalised units a box edge may stick out of the image before erroring


def label_path(image_path: str | Path) -> Path:
    """``.../images/a/b.jpg`` -> ``.../labels/a/b.txt`` (the last ``images`` folder is swapped,
    as Ultralytics' ``img2label_paths`` does)."""
    parts = list(Path(image_path).with_suffix(".txt").parts)
    if "images" not in parts:
        raise ValueError(f"{image_path}: no 'images' folder in the path to map to 'labels'")
    i = len(parts) - 1 - parts[::-1].index("images")
    parts[i] = "labels"
    return Path(*parts)


def read_data_yaml(data_yaml: str | Path) -> tuple[Path, dict[str, list[str]], list[str]]:
    """Parse ``data.yaml`` -> (root, {split: [entries]}, names). Always strict."""
    data_yaml = Path(data_yaml)
    if data_yaml.is_dir():
        data_yaml = data_yaml / "data.yaml"
    if not data_yaml.is_file():
        raise DatasetError(data_yaml, None, "dataset YAML not found")
    try:
        cfg = yaml.safe_load(read_text(data_yaml))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise DatasetError(data_yaml, line, f"bad YAML: {yaml_problem(error)}") from None
    if not isinstance(cfg, dict):
        raise DatasetError(data_yaml, None, "expected a mapping with path/train/val/names")
    if not isinstance(cfg.get("path") or ".", str):
        raise DatasetError(data_yaml, None, f"'path' must be a folder, got {cfg['path']!r}")
    root = Path(cfg.get("path") or ".")
    root = root if root.is_absolute() else data_yaml.parent / root
    if not root.is_dir():
        raise DatasetError(data_yaml, None, f"dataset root 'path: {root}' does not exist")
    splits = {k: _entries(data_yaml, k, cfg[k]) for k in ("train", "val", "test") if cfg.get(k)}
    return root, splits, _names(data_yaml, cfg)


def _entries(data_yaml: Path, split: str, value: object) -> list[str]:
    """A split's entries: a path, or a list of paths."""
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise DatasetError(data_yaml, None, f"'{split}' must be a folder or .txt list of "
                           f"images, or a list of them; got {value!r}")
    return entries


def _names(data_yaml: Path, cfg: dict) -> list[str]:
    names = cfg.get("names")
    if isinstance(names, dict):
        keys = list(names)
        if not all(type(k) is int for k in keys) or sorted(keys) != list(range(len(keys))):
            raise DatasetError(data_yaml, None, f"names keys must be 0..{len(names) - 1}, "
                               f"got {list(names)}")
        names = [names[i] for i in range(len(names))]
    if not isinstance(names, list) or not names:
        raise DatasetError(data_yaml, None, "'names' must be a non-empty list or dict")
    if "nc" in cfg and cfg["nc"] != len(names):
        raise DatasetError(data_yaml, None, f"nc={cfg['nc']!r} but {len(names)} names")
    return [str(n) for n in names]


def _images_of(entry: str, root: Path, data_yaml: Path, check: Validator) -> list[Path]:
    """Image paths of one split entry: a folder (searched recursively) or a ``.txt`` list."""
    path = Path(entry) if Path(entry).is_absolute() else root / entry
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if path.suffix == ".txt" and path.is_file():
        images = []
        for n, line in enumerate(read_text(path).splitlines(), 1):
            if not line.strip():
                continue
            image = Path(line.strip())
            image = image if image.is_absolute() else path.parent / image
            if image.is_file():
                images.append(image)
            else:
                check.fail(DatasetError(path, n, f"image not found: {image}"))
        return images
    raise DatasetError(data_yaml, None, f"split entry '{entry}' not found at {path}")


def parse_label_line(text: str, file: Path, n: int, nc: int) -> tuple[int, np.ndarray]:
    """One ``cls cx cy w h`` line -> (class id, normalised xyxy clipped to [0, 1])."""
    fields = text.split()
    if len(fields) != 5:
        raise DatasetError(file, n, f"expected 5 fields 'cls cx cy w h', got {len(fields)}")
    try:
        values = [float(f) for f in fields]
    except ValueError:
        bad = next(f for f in fields if not _is_float(f))
        raise DatasetError(file, n, f"non-numeric field '{bad}'") from None
    cls, cx, cy, w, h = values
    if not cls.is_integer() or not 0 <= cls < nc:
        raise DatasetError(file, n, f"unknown class id {fields[0]} (dataset has {nc} classes)")
    if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in (cx, cy, w, h)):
        raise DatasetError(file, n, f"coordinates out of range [0, 1]: {' '.join(fields[1:])}")
    if w <= 0 or h <= 0:
        raise DatasetError(file, n, f"zero-size box: w={fields[3]} h={fields[4]}")
    xyxy = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    if xyxy.min() < -EDGE_TOLERANCE or xyxy.max() > 1 + EDGE_TOLERANCE:
        raise DatasetError(file, n, f"box extends outside the image: {' '.join(fields[1:])}")
    return int(cls), np.clip(xyxy, 0.0, 1.0)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_labels(file: Path, width: int, height: int, nc: int,
                check: Validator) -> tuple[np.ndarray, np.ndarray]:
    """A label file -> (boxes ``(K, 4)`` xyxy pixels, labels ``(K,)``); bad lines go to
    ``check``."""
    boxes, labels = [], []
    if file.is_file():
        try:
            text = read_text(file)
        except DatasetError as error:
            check.fail(error)
            text = ""
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                cls, xyxy = parse_label_line(line, file, n, nc)
            except DatasetError as error:
                check.fail(error)
                continue
            boxes.append(xyxy * (width, height, width, height))
            labels.append(cls)
    return (np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64))


def read_yolo(data_yaml: str | Path, split: str = "train", strict: bool = True) -> DetectionSet:
    """Read one split of a YOLO dataset. Strict mode raises :class:`DatasetError` on the first
    bad item; lenient mode drops bad lines/images and lists them in ``.report``."""
    data_yaml = Path(data_yaml)
    root, splits, names = read_data_yaml(data_yaml)
    if split not in splits:
        raise DatasetError(data_yaml, None, f"no '{split}' split (has {sorted(splits)})")
    check = Validator(strict, DropReport())
    images = [p for entry in splits[split] for p in _images_of(entry, root, data_yaml, check)]
    _check_orphans(images, check)
    records = []
    for image_path in images:
        try:
            height, width = read_image(image_path).shape[:2]
        except DatasetError as error:
            check.fail(error)
            continue
        boxes, labels = read_labels(label_path(image_path), width, height, len(names), check)
        records.append(ImageRecord(image_path, width, height, boxes, labels))
    check.report.log_summary(f"{data_yaml} [{split}]")
    return DetectionSet(records, names, check.report)


def _check_orphans(images: list[Path], check: Validator) -> None:
    expected = {label_path(p) for p in images}
    for folder in {label_path(p).parent for p in images}:
        for orphan in sorted(set(folder.glob("*.txt")) - expected):
            check.fail(DatasetError(orphan, None, "label file has no matching image"))


def label_lines(boxes: np.ndarray, labels: np.ndarray, width: int, height: int) -> list[str]:
    """Pixel xyxy boxes -> ``cls cx cy w h`` lines (8 decimals: float32-exact round trip)."""
    scale = np.array([width, height, width, height], np.float64)
    xyxy = np.asarray(boxes, np.float64).reshape(-1, 4) / scale
    cxcywh = np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], 1)
    return [f"{int(c)} " + " ".join(f"{v:.8f}" for v in row)
            for c, row in zip(labels, cxcywh, strict=True)]


def write_labels(image_path: str | Path, boxes: np.ndarray, labels: np.ndarray,
                 width: int, height: int) -> Path:
    """Write the label file of ``image_path`` (an empty file for a background image)."""
    file = label_path(image_path)
    file.parent.mkdir(parents=True, exist_ok=True)
    lines = label_lines(boxes, labels, width, height)
    file.write_text("".join(line + "\n" for line in lines))
    return file


def write_data_yaml(root: str | Path, names: Iterable[str],
                    splits: dict[str, str] | None = None) -> Path:
    """Write ``root/data.yaml``; ``path`` is the absolute root, as Ultralytics expects."""
    root = Path(root)
    splits = splits or {"train": "images/train", "val": "images/val"}
    cfg = {"path": str(root.resolve()), **splits, "names": dict(enumerate(names))}
    file = root / "data.yaml"
    file.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return file
