"""The operating point: the score threshold a detector should be run at, chosen on a
validation split as the one with the best F1 (the harmonic mean of precision and recall).

AP summarises every threshold; a deployed detector runs at one (the manifest's
``score_threshold``), and what its user receives is the precision and recall there.

Choices:

- Matching is COCO's (Lin et al., arXiv 1405.0312; ``cocoeval.evaluateImg``) at one IoU
  (default 0.5): per image and class, detections in descending score order each take the
  still-unmatched ground-truth box of highest IoU at or above the threshold.
- One threshold for all classes (the manifest has one), so counts are pooled over classes
  (micro F1), not averaged per class.
- Scores that tie are kept or dropped together; of equal F1, the lower threshold (more
  recall) wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from firmware_py.nms import pairwise_overlap


@dataclass
class OperatingPoint:
    """Detections with ``score >= score_threshold`` give this precision and recall."""

    score_threshold: float
    precision: float
    recall: float
    f1: float
    iou: float = 0.5

    def line(self) -> str:
        return (f"score >= {self.score_threshold:.2f}: precision {self.precision:.2f}, recall "
                f"{self.recall:.2f} (F1 {self.f1:.2f} at IoU {self.iou:g})")


def match(boxes: np.ndarray, scores: np.ndarray, truth: np.ndarray, iou: float) -> np.ndarray:
    """True-positive flags of one image's detections of one class against its truth boxes."""
    hits = np.zeros(len(scores), dtype=bool)
    if len(truth) == 0 or len(scores) == 0:
        return hits
    overlap = pairwise_overlap(boxes, truth)  # (K, G)
    taken = np.zeros(len(truth), dtype=bool)
    for k in np.argsort(-scores, kind="stable"):
        candidates = np.where(taken, -1.0, overlap[k])
        g = int(candidates.argmax())
        if candidates[g] >= iou:
            taken[g] = hits[k] = True
    return hits


def _flags(truth: Mapping, pred: Mapping, iou: float) -> np.ndarray:
    t_labels = np.asarray(truth["labels"]).reshape(-1)
    p_labels = np.asarray(pred["labels"]).reshape(-1)
    t_boxes = np.asarray(truth["boxes"], np.float64).reshape(-1, 4)
    p_boxes = np.asarray(pred["boxes"], np.float64).reshape(-1, 4)
    scores = np.asarray(pred["scores"], np.float64).reshape(-1)
    hits = np.zeros(len(scores), dtype=bool)
    for c in np.unique(p_labels):
        mine = p_labels == c
        hits[mine] = match(p_boxes[mine], scores[mine], t_boxes[t_labels == c], iou)
    return hits


def _curve(ground_truth: Sequence[Mapping], predictions: Sequence[Mapping], iou: float
           ) -> tuple[np.ndarray, ...] | None:
    """``(score, precision, recall, f1)`` at each distinct score, descending; ``None``
    without ground truth or without detections."""
    truth = {t["image_id"]: t for t in ground_truth}
    n_gt = sum(len(np.asarray(t["labels"]).reshape(-1)) for t in ground_truth)
    scores, hits = [], []
    for pred in predictions:
        scores.append(np.asarray(pred["scores"], np.float64).reshape(-1))
        hits.append(_flags(truth[pred["image_id"]], pred, iou))
    if n_gt == 0 or not scores or not sum(len(s) for s in scores):
        return None
    order = np.argsort(-np.concatenate(scores), kind="stable")
    s, tp = np.concatenate(scores)[order], np.cumsum(np.concatenate(hits)[order])
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last index of each score value
    precision, recall = tp[ends] / (ends + 1), tp[ends] / n_gt
    f1 = np.where(tp[ends] > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12),
                  0.0)
    return s[ends], precision, recall, f1


def best_f1(ground_truth: Sequence[Mapping], predictions: Sequence[Mapping],
            iou: float = 0.5) -> OperatingPoint | None:
    """The threshold of best F1 over records as :func:`models.evaluate.evaluate` takes them
    (matched by ``image_id``); ``None`` without ground truth or without detections."""
    curve = _curve(ground_truth, predictions, iou)
    if curve is None:
        return None
    score, precision, recall, f1 = curve
    best = int(np.flatnonzero(f1 == f1.max())[-1])  # of equal F1, the lowest threshold
    return OperatingPoint(float(score[best]), float(precision[best]), float(recall[best]),
                          float(f1[best]), iou)


def for_precision(ground_truth: Sequence[Mapping], predictions: Sequence[Mapping],
                  min_precision: float, iou: float = 0.5) -> OperatingPoint | None:
    """The lowest threshold (most recall) whose precision reaches ``min_precision``; ``None``
    if no threshold does (or without ground truth or detections)."""
    curve = _curve(ground_truth, predictions, iou)
    if curve is None:
        return None
    score, precision, recall, f1 = curve
    ok = np.flatnonzero(precision >= min_precision)
    if not len(ok):
        return None
    i = int(ok[-1])
    return OperatingPoint(float(score[i]), float(precision[i]), float(recall[i]),
                          float(f1[i]), iou)


def at_threshold(ground_truth: Sequence[Mapping], predictions: Sequence[Mapping],
                 threshold: float, iou: float = 0.5) -> OperatingPoint | None:
    """Precision and recall of the detections scoring at least ``threshold``."""
    curve = _curve(ground_truth, predictions, iou)
    if curve is None:
        return None
    score, precision, recall, f1 = curve
    kept = np.flatnonzero(score >= threshold)
    if not len(kept):
        return OperatingPoint(threshold, 0.0, 0.0, 0.0, iou)
    last = int(kept[-1])
    return OperatingPoint(threshold, float(precision[last]), float(recall[last]),
                          float(f1[last]), iou)
