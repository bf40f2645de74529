"""``specks detect``: run a checkpoint on full images (sliced into tiles, decoded, merged) and
print and draw what it finds. Without an image it runs on the built-in sample scene: the
synthetic generator at a fixed seed, so its ground truth is known and recall is printed."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from firmware_py.draw import draw_detections
from firmware_py.manifest import CenterNetDecode
from firmware_py.nms import pairwise_overlap

from .checkpoint import model_from_checkpoint
from .data.boxes import read_image, write_image
from .data.synth import SynthConfig, synth_image
from .predict import Detections, SliceConfig, predict_sliced
from .validate import tile_detector

log = logging.getLogger(__name__)

SAMPLE_SEED = 2024
SAMPLE_SIZE = (1280, 720)


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


def detect(checkpoint: str | Path, images: list[str], out_dir: str | Path,
           score_threshold: float = 0.3, tile_size: int = 320) -> list[Detections]:
    model, ckpt = model_from_checkpoint(checkpoint)
    names = ckpt["meta"]["names"]
    spec = CenterNetDecode(num_classes=len(names), stride=model.stride,
                           score_threshold=score_threshold)
    config = SliceConfig(tile_width=tile_size, tile_height=tile_size)
    detect_tiles = tile_detector(model, spec)
    out_dir = Path(out_dir)
    inputs = [(Path(p).stem, read_image(p), None) for p in images] or [
        ("sample", *sample_scene())]
    results = []
    for stem, image, truth in inputs:
        found = predict_sliced(image, detect_tiles, config)
        _print(stem, image, found, names, truth)
        path = out_dir / f"{stem}_detections.png"
        write_image(path, draw_detections(image, found.boxes, found.scores, found.labels, names))
        log.info("wrote %s", path)
        results.append(found)
    return results


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
