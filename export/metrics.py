"""Accuracy of an exported artifact, measured the way the device runs it: full validation
images -> the device tile grid -> the artifact in its real runtime -> the device's numpy
CenterNet decode (``firmware_py.decode``) -> cross-tile merge -> COCO metrics.

Tiling and merging are ``models.predict.predict_sliced`` (fed a ``detect_tiles`` callable that
wraps the runner and the numpy decode), scoring is ``models.evaluate.evaluate``; nothing here
re-implements either. Eager PyTorch goes through the same path (its outputs decoded by the
same numpy decode), so eager and artifact numbers differ only by the model's outputs.

Choices of ours:

- Thresholds: the decode spec is the deployed one (the bundle's), with only the score
  threshold lowered to ``EVAL_SCORE_THRESHOLD`` (0.01, as ``models.validate``), so the PR
  curve reaches full recall; the deployed threshold stays in the manifest.
- One tile per runtime call: artifacts have a static batch of 1, as on the device.
- Reported numbers (``summary``): ``mAP50``, ``mAP50-95``, ``AP_small`` as fractions; an
  undefined metric (no ground truth of that size) is left out rather than written as NaN.
  Beside them, the operating point (``models.operating_point``, IoU 0.5): the best-F1
  ``score_threshold`` (or the lowest reaching ``min_precision``) with its ``precision`` and
  ``recall``, or, once a threshold is deployed
  (``deployed_threshold``), the precision and recall at it. Up to 1000 detections per image
  count (tiled images can hold hundreds of objects).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from firmware_py.decode import decode_centernet
from firmware_py.manifest import CenterNetDecode, InputSpec
from models.data.boxes import ImageRecord, read_image
from models.evaluate import DetectionMetrics, evaluate
from models.operating_point import OperatingPoint, at_threshold, best_f1, for_precision
from models.predict import DetectTiles, SliceConfig, predict_sliced
from models.validate import EVAL_SCORE_THRESHOLD

from .calibration import normalise

# A float32 NCHW batch of one normalised tile -> the model's outputs, float32 NCHW (what
# ``firmware_py.runtimes.Runner.__call__`` does, and ``eager_forward`` for PyTorch).
Forward = Callable[[np.ndarray], Sequence[np.ndarray]]

SUMMARY = {"mAP50": "map50", "mAP50-95": "map50_95", "AP_small": "ap_small",
           "AP30_tiny": "ap30_tiny"}


def eager_forward(model: nn.Module) -> Forward:
    """Eager PyTorch as a :data:`Forward`."""
    model = model.eval()

    def forward(x: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            out = model(torch.from_numpy(x))
        out = out if isinstance(out, (tuple, list)) else (out,)
        return [o.float().numpy() for o in out]

    return forward


def eval_decode(deployed: CenterNetDecode,
                score_threshold: float = EVAL_SCORE_THRESHOLD) -> CenterNetDecode:
    """The deployed decode with the evaluation score threshold."""
    return deployed.model_copy(update={"score_threshold": score_threshold})


def device_detector(forward: Forward, decode: CenterNetDecode, input_spec: InputSpec
                    ) -> DetectTiles:
    """A ``detect_tiles`` callable for ``models.predict``: normalise each ``[0, 1]`` RGB tile
    as ``input_spec`` says, run ``forward`` on it alone, decode with the numpy decode."""

    def detect(batch: torch.Tensor) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        x = normalise(batch, input_spec).numpy()  # (B, 3, th, tw)
        found = []
        for i in range(len(x)):
            det, = decode_centernet(forward(np.ascontiguousarray(x[i:i + 1])), decode, "NCHW")
            found.append((det.boxes, det.scores, det.labels))
        return found

    return detect


@dataclass
class DetectionEvaluator:
    """COCO metrics of any :data:`Forward` on ``records`` (full images, ground truth boxes),
    through the device path. ``decode`` is the deployed spec; evaluation lowers only its score
    threshold."""

    records: Sequence[ImageRecord]
    names: Sequence[str]
    decode: CenterNetDecode
    input_spec: InputSpec
    overlap: float | int = 0.2
    score_threshold: float = EVAL_SCORE_THRESHOLD
    max_dets: int = 1000
    deployed_threshold: float | None = None  # None: report the chosen operating point
    min_precision: float | None = None  # choose for this precision instead of best F1

    def __post_init__(self) -> None:
        if not self.records:
            raise ValueError("evaluation needs at least one image record")
        if self.decode.num_classes != len(self.names):
            raise ValueError(f"decode has {self.decode.num_classes} classes, the data "
                             f"{len(self.names)}")

    def evaluate(self, forward: Forward, desc: str = "eval"
                 ) -> tuple[DetectionMetrics, OperatingPoint | None]:
        tile_h, tile_w = self.input_spec.shape[-2:]
        detect = device_detector(forward, eval_decode(self.decode, self.score_threshold),
                                 self.input_spec)
        config = SliceConfig(tile_width=tile_w, tile_height=tile_h, overlap=self.overlap,
                             nms_iou=self.decode.nms_iou, max_detections=self.max_dets)
        truth, predictions = [], []
        for i, record in enumerate(tqdm(self.records, desc=desc, unit="image", leave=False)):
            found = predict_sliced(read_image(record.path), detect, config)
            truth.append({"image_id": i, "width": record.width, "height": record.height,
                          "boxes": record.boxes, "labels": record.labels})
            predictions.append(found.record(i))
        if self.deployed_threshold is not None:
            point = at_threshold(truth, predictions, self.deployed_threshold)
        elif self.min_precision is not None:
            point = for_precision(truth, predictions, self.min_precision)
        else:
            point = best_f1(truth, predictions)
        return evaluate(truth, predictions, self.names, max_dets=self.max_dets), point

    def __call__(self, forward: Forward, desc: str = "eval") -> dict[str, float]:
        metrics, point = self.evaluate(forward, desc)
        values = summary(metrics)
        if point is not None:
            values.update({"score_threshold": round(point.score_threshold, 4),
                           "precision": round(point.precision, 5),
                           "recall": round(point.recall, 5)})
        return values


def summary(metrics: DetectionMetrics) -> dict[str, float]:
    """``mAP50``, ``mAP50-95``, ``AP_small``, ``AP30_tiny`` (fractions), leaving out
    undefined ones."""
    values = {key: float(getattr(metrics, attr)) for key, attr in SUMMARY.items()}
    return {k: round(v, 5) for k, v in values.items() if not math.isnan(v)}
