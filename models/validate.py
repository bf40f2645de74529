"""Evaluate a detector the way it is deployed: full images, cut into the device's tile grid,
decoded by the CenterNet decode, merged across tiles, scored by COCO metrics.

The score threshold for evaluation is low (0.01) so the PR curve reaches full recall; the
deployed threshold lives in the bundle's decode spec. Caps: ``top_k`` peaks per tile (the decode's
``max_detections``) and ``max_dets`` detections per image after merging (COCO's ``maxDets``),
by default 100 and 1000: COCO's 100 per image would cap recall on scenes of hundreds of small
objects (a flock, a crowd seen from above).

:func:`estimate_eval_seconds` times the evaluation of one image and scales it by the tiles of
the whole split: what a time budget reserves for a final evaluation.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from firmware_py.manifest import CenterNetDecode

from .data.boxes import ImageRecord, read_image
from .decode import decode
from .evaluate import DetectionMetrics, evaluate
from .limits import MAX_DETS, TOP_K
from .predict import DetectTiles, SliceConfig, predict_full_frame, predict_sliced

log = logging.getLogger(__name__)

EVAL_SCORE_THRESHOLD = 0.01


def eval_spec(num_classes: int, stride: int = 4, top_k: int = TOP_K) -> CenterNetDecode:
    return CenterNetDecode(num_classes=num_classes, stride=stride,
                           score_threshold=EVAL_SCORE_THRESHOLD, max_detections=top_k)


def tile_detector(model: nn.Module, spec: CenterNetDecode) -> DetectTiles:
    """Wrap an eval-mode detector as a ``detect_tiles`` callable for ``models.predict``."""
    model.eval()

    def detect(batch: torch.Tensor):
        found = decode(model(batch), spec)
        return [(d["boxes"], d["scores"], d["labels"]) for d in found]

    return detect


def count_tiles(records: Sequence[ImageRecord], tile_size: int = 320,
                overlap: float = 0.2) -> int:
    """Tiles the sliced evaluation of ``records`` runs."""
    config = SliceConfig(tile_width=tile_size, tile_height=tile_size, overlap=overlap)
    return sum(len(config.grid(r.width, r.height)) for r in records)


@torch.inference_mode()
def evaluate_detector(model: nn.Module, records: Sequence[ImageRecord], names: Sequence[str],
                      tile_size: int = 320, overlap: float = 0.2, full_frame: bool = False,
                      out_dir: str | Path | None = None, top_k: int = TOP_K,
                      max_dets: int = MAX_DETS, progress: bool = True) -> DetectionMetrics:
    """COCO metrics of ``model`` on full images (sliced, or one downscaled tile with
    ``full_frame``); writes ``pr_curve.png`` and ``metrics.json`` to ``out_dir`` if given.
    ``progress`` shows a bar with an estimate of the time left."""
    stride = getattr(model, "stride", 4)
    detect = tile_detector(model, eval_spec(len(names), stride, top_k))
    config = SliceConfig(tile_width=tile_size, tile_height=tile_size, overlap=overlap,
                         max_detections=max_dets)
    predict = predict_full_frame if full_frame else predict_sliced
    truth, predictions = [], []
    bar = tqdm(records, desc=f"eval {len(records)} images", unit="img", leave=False,
               disable=not progress)
    for i, record in enumerate(bar):
        found = predict(read_image(record.path), detect, config)
        truth.append({"image_id": i, "width": record.width, "height": record.height,
                      "boxes": record.boxes, "labels": record.labels})
        predictions.append(found.record(i))
    pr_curve = None
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        pr_curve = Path(out_dir) / "pr_curve.png"
    metrics = evaluate(truth, predictions, names, pr_curve=pr_curve, max_dets=max_dets)
    if out_dir is not None:
        (Path(out_dir) / "metrics.json").write_text(json.dumps(metrics.to_dict(), indent=2))
    return metrics


def estimate_eval_seconds(model: nn.Module, records: Sequence[ImageRecord],
                          names: Sequence[str], tile_size: int = 320,
                          clock: Callable[[], float] = time.monotonic) -> float:
    """Seconds :func:`evaluate_detector` will take on ``records``: the first image is
    evaluated, timed on ``clock`` and scaled by the split's tile count, after one untimed
    forward of a batch of tiles (torch's first-call set-up would double a small estimate)."""
    if not records:
        return 0.0
    with torch.inference_mode():
        model.eval()(torch.zeros(SliceConfig().batch_size, 3, tile_size, tile_size))
    start = clock()
    evaluate_detector(model, records[:1], names, tile_size=tile_size, progress=False)
    seconds = clock() - start
    return seconds * count_tiles(records, tile_size) / count_tiles(records[:1], tile_size)
