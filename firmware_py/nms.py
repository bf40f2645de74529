"""Class-wise non-maximum suppression (NMS) and greedy non-maximum merging (NMM), numpy only.

NMS is the classic greedy rule (as in CenterNet's optional post-process, Zhou et al., arXiv
1904.07850, Sec. 4): visit boxes by descending score, keep a box, drop every later box of the
same class whose overlap with it exceeds the threshold.

Greedy NMM is SAHI's merging of sliced predictions (Akyon et al., "Slicing Aided Hyper
Inference and Fine-tuning for Small Object Detection", arXiv 2202.06934, Sec. 3.2; its
``GreedyNMMPostprocess``): the same greedy grouping, but instead of dropping the matched boxes,
the kept box absorbs them -- the merged box is the union (enclosing) box, the score the highest
score, the class the class of the highest-scoring box. Used per tile and across tile overlaps,
where one object cut by a tile edge yields two partial boxes that belong together.

Choices of ours where the papers are silent:

- Overlap is either IoU or IoS (intersection over the smaller area, SAHI's ``IOS``). A pair
  matches when the overlap is strictly greater than the threshold, so a threshold of 1 turns
  suppression off (the manifest's ``nms_iou = 1``) and 0 suppresses any touching pair with a
  positive intersection. Boxes of zero area overlap nothing.
- Ties in score keep the input order (stable sort), so results are deterministic and equal to
  the torch reference decode in ``models/decode.py``.
- Boxes are ``(K, 4)`` ``xyxy``; results are indices into the input, in descending score order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Metric = Literal["iou", "ios"]


def _areas(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0,
                                                                 None)


def pairwise_overlap(a: np.ndarray, b: np.ndarray, metric: Metric = "iou") -> np.ndarray:
    """``(N, M)`` IoU (or IoS: intersection over the smaller box) of ``(N, 4)`` and ``(M, 4)``
    ``xyxy`` boxes; 0 where the denominator is 0."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])  # (N, M, 2)
    wh = np.clip(hi - lo, 0, None)
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    area_a, area_b = _areas(a)[:, None], _areas(b)[None, :]
    if metric == "iou":
        denom = area_a + area_b - inter
    elif metric == "ios":
        denom = np.minimum(area_a, area_b)
    else:
        raise ValueError(f"unknown overlap metric {metric!r}; use 'iou' or 'ios'")
    return np.divide(inter, denom, out=np.zeros_like(inter), where=denom > 0)


def _order(scores: np.ndarray) -> np.ndarray:
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def _same_class(labels: np.ndarray | None, count: int) -> np.ndarray:
    if labels is None:
        return np.ones((count, count), dtype=bool)
    labels = np.asarray(labels).reshape(-1)
    return labels[:, None] == labels[None, :]


def _sorted_matches(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray | None,
                    threshold: float, metric: Metric) -> tuple[np.ndarray, np.ndarray]:
    """Descending-score order and the ``(K, K)`` same-class overlap > threshold matrix in it."""
    boxes = np.asarray(boxes).reshape(-1, 4)
    order = _order(scores)
    sorted_boxes = boxes[order]
    match = pairwise_overlap(sorted_boxes, sorted_boxes, metric) > threshold  # (K, K)
    match &= _same_class(None if labels is None else np.asarray(labels)[order], len(order))
    return order, match


def nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray | None = None,
        threshold: float = 0.5, metric: Metric = "iou") -> np.ndarray:
    """Greedy NMS; class-wise when ``labels`` is given (boxes of different classes never
    suppress each other). Returns kept indices (int64) in descending score order."""
    order, match = _sorted_matches(boxes, scores, labels, threshold, metric)
    alive = np.ones(len(order), dtype=bool)
    for i in range(len(order)):
        if alive[i]:
            alive[i + 1:] &= ~match[i, i + 1:]
    return order[alive].astype(np.int64)


def greedy_nmm(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray | None = None,
               threshold: float = 0.5, metric: Metric = "ios") -> dict[int, list[int]]:
    """SAHI's greedy grouping: ``{kept index: [indices to merge into it]}``, keys in
    descending score order, each list in descending score order. Class-wise when ``labels``
    is given. Matching uses the original boxes; :func:`merge_nmm` applies the groups."""
    order, match = _sorted_matches(boxes, scores, labels, threshold, metric)
    alive = np.ones(len(order), dtype=bool)
    groups: dict[int, list[int]] = {}
    for i in range(len(order)):
        if not alive[i]:
            continue
        members = np.flatnonzero(alive & match[i])
        members = members[members > i]
        alive[members] = False
        alive[i] = False
        groups[int(order[i])] = [int(j) for j in order[members]]
    return groups


def merge_groups(boxes: np.ndarray, groups: dict[int, list[int]], threshold: float,
                 metric: Metric = "ios") -> np.ndarray:
    """``(M, 4)`` float32: each :func:`greedy_nmm` group's kept box grown into the union with
    its members. As in SAHI, each member is re-checked against the kept box *as merged so
    far* and skipped if it no longer matches."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    out = np.empty((len(groups), 4), dtype=np.float32)
    for row, (keep, members) in enumerate(groups.items()):
        merged = boxes[keep].copy()
        for j in members:
            if pairwise_overlap(merged, boxes[j], metric)[0, 0] > threshold:
                merged[:2] = np.minimum(merged[:2], boxes[j, :2])
                merged[2:] = np.maximum(merged[2:], boxes[j, 2:])
        out[row] = merged
    return out


def merge_nmm(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
              threshold: float = 0.5, metric: Metric = "ios", class_agnostic: bool = False
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy NMM: ``(boxes (M, 4), scores (M,), labels (M,))`` after merging each group into
    its kept box (union box, highest score, class of the highest-scoring box), in descending
    score order; ``class_agnostic`` merges across classes."""
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    groups = greedy_nmm(boxes, scores, None if class_agnostic else labels, threshold, metric)
    keys = np.fromiter(groups, dtype=np.int64, count=len(groups))
    # NOTE: keys are in descending score order, so each kept box already has its group's
    # highest score and that box's class.
    return merge_groups(boxes, groups, threshold, metric), scores[keys], labels[keys]
