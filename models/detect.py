"""``specks detect``: run a checkpoint on full images (sliced into tiles, decoded, merged) and
print and draw what it finds, and with ``json_path`` write it machine-readable. Without an image
it runs on the built-in sample scene: the synthetic generator at a fixed seed, so its ground
truth is known and recall is printed.

Choices:

- The JSON is a COCO results list (https://cocodataset.org/#format-results: ``image_id``,
  ``category_id``, ``bbox`` ``[x, y, w, h]`` pixels, ``score``), as ``COCO.loadRes`` reads it;
  images are numbered ``1..N`` in the order given and each entry also names its
  ``file_name``; ``category_id`` is the class id + 1 (as ``models/data/coco.py`` writes).
- The score threshold defaults to the checkpoint's operating point (best F1 on its
  validation split, recorded by ``specks train``), else 0.3 (the manifests' default).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from firmware_py.draw import draw_detections
from firmware_py.manifest import CenterNetDecode
from firmware_py.nms import pairwise_overlap

from .checkpoint import model_from_checkpoint
from .data.boxes import read_image, write_image
from .data.synth import SynthConfig, synth_image
from .evaluate import coco_detections
from .limits import MAX_DETS, TOP_K
from .predict import Detections, SliceConfig, predict_sliced
from .validate import tile_detector

log = logging.getLogger(__name__)

SAMPLE_SEED = 2024
SAMPLE_SIZE = (1280, 720)
DEFAULT_SCORE_THRESHOLD = 0.3


def sample_scene() -> tuple[np.ndarray, np.ndarray]:
    """The built-in sample: (image, ground-truth boxes)."""
    scene = synth_image(SynthConfig(width=SAMPLE_SIZE[0], height=SAMPLE_SIZE[1],
                                    objects=(12, 20), background_prob=0.0), SAMPLE_SEED)
    return scene.image, scene.boxes


def recall(found: Detections, truth: np.ndarray, iou: float = 0.5) -> float:
    if len(truth) == 0:
        return 1.0
    if len(found) == 0:
        return 0.0
    return float((pairwise_overlap(truth, found.boxes).max(axis=1) >= iou).mean())


def default_threshold(ckpt: dict[str, Any]) -> float:
    """The checkpoint's operating point, else :data:`DEFAULT_SCORE_THRESHOLD`."""
    point = (ckpt.get("meta", {}).get("metrics") or {}).get("operating_point")
    if point:
        log.info("score threshold %.2f: the checkpoint's operating point (best F1 on its val "
                 "split)", point["score_threshold"])
        return float(point["score_threshold"])
    return DEFAULT_SCORE_THRESHOLD


def detect(checkpoint: str | Path, images: list[str], out_dir: str | Path,
           score_threshold: float | None = None, tile_size: int = 320,
           overlap: float = 0.2, top_k: int = TOP_K, max_dets: int = MAX_DETS,
           json_path: str | Path | None = None) -> list[Detections]:
    """Detect on each image (``top_k`` peaks per tile, tiles overlapping by ``overlap`` of
    their side, at most ``max_dets`` per image); draw, print, and write ``json_path``."""
    model, ckpt = model_from_checkpoint(checkpoint)
    names = ckpt["meta"]["names"]
    threshold = default_threshold(ckpt) if score_threshold is None else score_threshold
    spec = CenterNetDecode(num_classes=len(names), stride=model.stride,
                           score_threshold=threshold, max_detections=top_k)
    config = SliceConfig(tile_width=tile_size, tile_height=tile_size, overlap=overlap,
                         max_detections=max_dets)
    detect_tiles = tile_detector(model, spec)
    out_dir = Path(out_dir)
    inputs = [(p, read_image(p), None) for p in images] or [("sample", *sample_scene())]
    results = []
    for name, image, truth in inputs:
        found = predict_sliced(image, detect_tiles, config)
        stem = Path(name).stem
        _print(stem, image, found, names, truth)
        path = out_dir / f"{stem}_detections.png"
        write_image(path, draw_detections(image, found.boxes, found.scores, found.labels, names))
        log.info("wrote %s", path)
        results.append(found)
    if json_path is not None:
        write_results(json_path, [str(name) for name, _, _ in inputs], results, names)
    return results


def write_results(path: str | Path, files: list[str], results: list[Detections],
                  names: list[str]) -> Path:
    """Write detections as a COCO results list (module docstring); images ``1..N``."""
    ids = {file: i + 1 for i, file in enumerate(files)}
    entries = []
    for file, found in zip(files, results, strict=True):
        for entry in coco_detections([found.record(file)], ids, names):
            entries.append({**entry, "file_name": file})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries))
    log.info("wrote %d detections on %d images to %s", len(entries), len(files), path)
    return path


def _print(stem: str, image: np.ndarray, found: Detections, names: list[str],
           truth: np.ndarray | None) -> None:
    title = f"{stem}: {image.shape[1]}x{image.shape[0]}, {len(found)} detections"
    if truth is not None:
        title += f", recall@0.5 {recall(found, truth):.2f} of {len(truth)} objects"
    table = Table(title=title)
    for column in ("class", "score", "x0", "y0", "x1", "y1", "size px"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for box, score, label in zip(found.boxes, found.scores, found.labels, strict=True):
        w, h = box[2] - box[0], box[3] - box[1]
        table.add_row(names[int(label)], f"{score:.2f}", *(f"{v:.0f}" for v in box),
                      f"{w:.0f}x{h:.0f}")
    Console().print(table)
