"""Evaluate a detector the way it is deployed: full images, cut into the device's tile grid,
decoded by the CenterNet decode, merged across tiles, scored by COCO metrics.

The score threshold for evaluation is low (0.01) so the PR curve reaches full recall; the
deployed threshold lives in the bundle's decode spec.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from firmware_py.manifest import CenterNetDecode

from .data.boxes import ImageRecord, read_image
from .decode import decode
from .evaluate import DetectionMetrics, evaluate
from .predict import DetectTiles, SliceConfig, predict_full_frame, predict_sliced

log = logging.getLogger(__name__)

EVAL_SCORE_THRESHOLD = 0.01


def eval_spec(num_classes: int, stride: int = 4) -> CenterNetDecode:
    return CenterNetDecode(num_classes=num_classes, stride=stride,
                           score_threshold=EVAL_SCORE_THRESHOLD, max_detections=100)


def tile_detector(model: nn.Module, spec: CenterNetDecode) -> DetectTiles:
    """Wrap an eval-mode detector as a ``detect_tiles`` callable for ``models.predict``."""
    model.eval()

    def detect(batch: torch.Tensor):
        found = decode(model(batch), spec)
        return [(d["boxes"], d["scores"], d["labels"]) for d in found]

    return detect


@torch.inference_mode()
def evaluate_detector(model: nn.Module, records: Sequence[ImageRecord], names: Sequence[str],
                      tile_size: int = 320, overlap: float = 0.2, full_frame: bool = False,
                      out_dir: str | Path | None = None) -> DetectionMetrics:
    """COCO metrics of ``model`` on full images (sliced, or one downscaled tile with
    ``full_frame``); writes ``pr_curve.png`` and ``metrics.json`` to ``out_dir`` if given."""
    stride = getattr(model, "stride", 4)
    detect = tile_detector(model, eval_spec(len(names), stride))
    config = SliceConfig(tile_width=tile_size, tile_height=tile_size, overlap=overlap)
    predict = predict_full_frame if full_frame else predict_sliced
    truth, predictions = [], []
    for i, record in enumerate(tqdm(records, desc="eval", leave=False)):
        found = predict(read_image(record.path), detect, config)
        truth.append({"image_id": i, "width": record.width, "height": record.height,
                      "boxes": record.boxes, "labels": record.labels})
        predictions.append(found.record(i))
    pr_curve = None
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        pr_curve = Path(out_dir) / "pr_curve.png"
    metrics = evaluate(truth, predictions, names, pr_curve=pr_curve)
    if out_dir is not None:
        (Path(out_dir) / "metrics.json").write_text(json.dumps(metrics.to_dict(), indent=2))
    return metrics
