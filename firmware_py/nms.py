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
  positive intersection. Boxes of zero area (or with a non-finite coordinate) overlap
  nothing.
- Cost. No ``K x K`` overlap matrix: the pairs that can match are found through a spatial
  grid (:mod:`firmware_py.boxgrid`), and the greedy visit is decided over those pairs in a
  few vectorised rounds (:func:`_resolve`), so time and memory follow the boxes and their
  overlapping pairs (a device merge over ~10k candidates of a 90-tile frame), not their
  square. Up to ``ALL_PAIRS`` boxes (a detector tile's decode) every pair is a candidate
  instead: cheaper than building the grid. The result is the greedy visit's, exactly
  (``tests/firmware_py/test_nms.py`` checks it against the matrix form on random boxes).
- Ties in score keep the input order (stable sort), so results are deterministic and equal to
  the torch reference decode in ``models/decode.py``.
- Boxes are ``(K, 4)`` ``xyxy``; results are indices into the input, in descending score order.
"""

from __future__ import annotations

from itertools import chain
from typing import Literal

import numpy as np

from firmware_py.boxgrid import cross_pairs, overlapping_pairs

Metric = Literal["iou", "ios"]
ALL_PAIRS = 64  # up to this many boxes, every pair is a candidate: cheaper than the grid


def _areas(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(
        boxes[..., 3] - boxes[..., 1], 0, None)


def overlap(a: np.ndarray, b: np.ndarray, metric: Metric = "iou") -> np.ndarray:
    """IoU (or IoS: intersection over the smaller box) of broadcastable ``(..., 4)`` ``xyxy``
    float64 boxes, elementwise; 0 where the denominator is 0."""
    lo = np.maximum(a[..., :2], b[..., :2])
    hi = np.minimum(a[..., 2:], b[..., 2:])
    wh = np.clip(hi - lo, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a, area_b = _areas(a), _areas(b)
    if metric == "iou":
        denom = area_a + area_b - inter
    elif metric == "ios":
        denom = np.minimum(area_a, area_b)
    else:
        raise ValueError(f"unknown overlap metric {metric!r}; use 'iou' or 'ios'")
    return np.divide(inter, denom, out=np.zeros_like(inter), where=denom > 0)


def pairwise_overlap(a: np.ndarray, b: np.ndarray, metric: Metric = "iou") -> np.ndarray:
    """``(N, M)`` IoU (or IoS) of ``(N, 4)`` and ``(M, 4)`` ``xyxy`` boxes; 0 where the
    denominator is 0."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return overlap(a[:, None, :], b[None, :, :], metric)


def max_overlap(a: np.ndarray, b: np.ndarray, metric: Metric = "iou") -> np.ndarray:
    """``(N,)`` the highest IoU (or IoS) of each ``a`` box with any ``b`` box, 0 where it
    overlaps none: ``pairwise_overlap(a, b).max(axis=1)`` without the ``(N, M)`` matrix (a
    flood of detections against many tracks would need hundreds of MB)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ia, ib = cross_pairs(a, b)
    out = np.zeros(len(a))
    np.maximum.at(out, ia, overlap(a[ia], b[ib], metric))
    return out


def _order(scores: np.ndarray) -> np.ndarray:
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def _matches(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray | None,
             threshold: float, metric: Metric) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Descending-score order, and the matching pairs as ranks in it: ``(hi, lo)``, ``hi <
    lo``, same class, overlap > threshold."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = _order(scores)
    i, j = np.triu_indices(len(boxes), 1) if len(boxes) <= ALL_PAIRS else \
        overlapping_pairs(boxes)
    keep = overlap(boxes[i], boxes[j], metric) > threshold
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        keep &= labels[i] == labels[j]
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    ri, rj = rank[i[keep]], rank[j[keep]]
    return order, np.minimum(ri, rj), np.maximum(ri, rj)


def _resolve(count: int, hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The greedy visit of ranks ``0..count-1`` over the match pairs ``(hi, lo)``: a rank is
    kept unless a kept, better rank matches it. Returns ``(kept (count,) bool, owner
    (count,) int64)``, ``owner`` the best kept rank matching each dropped rank (``count`` for
    kept ones). Decided in rounds, each one vectorised: a rank is kept once every better rank
    matching it is dropped, dropped once one is kept; each round decides at least the best
    undecided rank, and few rounds are needed when chains of matches are short."""
    state = np.zeros(count, np.int8)  # 0 undecided, 1 kept, 2 dropped
    live_hi, live_lo = hi, lo
    while (state == 0).any():
        blocked = np.zeros(count, bool)
        blocked[live_lo] = True
        state[(state == 0) & ~blocked] = 1
        state[live_lo[state[live_hi] == 1]] = 2  # undecided until now: live pairs only
        live = (state[live_lo] == 0) & (state[live_hi] != 2)
        live_hi, live_lo = live_hi[live], live_lo[live]
    kept = state == 1
    owner = np.full(count, count, np.int64)
    win = kept[hi]
    np.minimum.at(owner, lo[win], hi[win])
    return kept, owner


def nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray | None = None,
        threshold: float = 0.5, metric: Metric = "iou") -> np.ndarray:
    """Greedy NMS; class-wise when ``labels`` is given (boxes of different classes never
    suppress each other). Returns kept indices (int64) in descending score order."""
    order, hi, lo = _matches(boxes, scores, labels, threshold, metric)
    kept, _ = _resolve(len(order), hi, lo)
    return order[kept].astype(np.int64)


def greedy_nmm(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray | None = None,
               threshold: float = 0.5, metric: Metric = "ios") -> dict[int, list[int]]:
    """SAHI's greedy grouping: ``{kept index: [indices to merge into it]}``, keys in
    descending score order, each list in descending score order. Class-wise when ``labels``
    is given. Matching uses the original boxes; :func:`merge_nmm` applies the groups. A box
    joins the group of the best kept box that matches it: the greedy visit reaches that one
    first, and until then the box is still free."""
    order, hi, lo = _matches(boxes, scores, labels, threshold, metric)
    kept, owner = _resolve(len(order), hi, lo)
    groups: dict[int, list[int]] = {int(order[r]): [] for r in np.flatnonzero(kept)}
    members = np.flatnonzero(~kept)  # ascending rank = descending score
    for rank, head in zip(members.tolist(), owner[members].tolist(), strict=True):
        groups[int(order[head])].append(int(order[rank]))
    return groups


def merge_groups(boxes: np.ndarray, groups: dict[int, list[int]], threshold: float,
                 metric: Metric = "ios") -> np.ndarray:
    """``(M, 4)`` float32: each :func:`greedy_nmm` group's kept box grown into the union with
    its members. As in SAHI, each member is re-checked against the kept box *as merged so
    far* and skipped if it no longer matches. Vectorised across groups: step ``s`` checks
    every group's ``s``-th member at once."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    out = boxes[np.fromiter(groups, dtype=np.int64, count=len(groups))].copy()  # (M, 4)
    count = np.fromiter((len(m) for m in groups.values()), dtype=np.int64, count=len(groups))
    member = np.fromiter(chain.from_iterable(groups.values()), dtype=np.int64,
                         count=int(count.sum()))  # (P,) group by group
    row = np.repeat(np.arange(len(groups)), count)  # (P,)
    step = np.arange(len(member)) - np.repeat(np.cumsum(count) - count, count)
    by_step = np.argsort(step, kind="stable")
    bounds = np.searchsorted(step[by_step], np.arange(int(count.max(initial=0)) + 1))
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        r, j = row[by_step[lo:hi]], member[by_step[lo:hi]]
        hit = overlap(out[r].astype(np.float64), boxes[j].astype(np.float64), metric) \
            > threshold
        r, j = r[hit], j[hit]
        out[r, :2] = np.minimum(out[r, :2], boxes[j, :2])
        out[r, 2:] = np.maximum(out[r, 2:], boxes[j, 2:])
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
