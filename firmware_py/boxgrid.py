"""The pairs of boxes that overlap, found through a uniform spatial grid (spatial hashing)
instead of a ``K x K`` overlap matrix: numpy only, memory and time about linear in the boxes
and the pairs that really intersect when boxes are small against the frame (Specks' case).

Uniform-grid broad phase, as in collision detection (Ericson, "Real-Time Collision
Detection", 2005, Sec. 7.1): every box is entered in each cell it covers, and only boxes that
share a cell are compared. Choices of ours:

- Cell side: twice the 90th percentile of the boxes' longer sides (at least one pixel), so
  most boxes cover 1-4 cells; the rare larger box covers more cells but stays correct.
- Each pair is reported once, by the cell that holds the top-left corner of the two boxes'
  intersection (``max x0, max y0``): that point lies inside both boxes, hence in a cell both
  were entered in, and in exactly one cell (the usual de-duplication rule of grid broad
  phases, no sort of the pairs needed).
- Only pairs whose intersection has a positive area are returned: a box of zero area, or two
  boxes that only touch along an edge, overlap nothing (``nms.pairwise_overlap`` scores such
  pairs 0), as do boxes with a non-finite coordinate.
"""

from __future__ import annotations

import numpy as np

CELL_PERCENTILE = 90
CELL_FACTOR = 2.0


def _cell_side(boxes: np.ndarray) -> float:
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return max(1.0, CELL_FACTOR * float(np.percentile(sides, CELL_PERCENTILE)))


def _entries(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``(K, 4)`` inclusive cell ranges ``cx0, cy0, cx1, cy1``: one row per (box, cell)
    covered, as ``(box, cx, cy)``, in box order."""
    nx = cells[:, 2] - cells[:, 0] + 1  # (K,)
    ny = cells[:, 3] - cells[:, 1] + 1
    count = nx * ny
    box = np.repeat(np.arange(len(cells)), count)  # (E,)
    offset = np.arange(len(box)) - np.repeat(np.cumsum(count) - count, count)
    return box, cells[box, 0] + offset % nx[box], cells[box, 1] + offset // nx[box]


def _same_cell_pairs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(a, b)``, ``a < b``, of every two entries with the same ``key``, for
    ``key`` sorted ascending."""
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])  # (G,) first entry of each cell
    end = np.r_[start[1:], len(key)]
    group_end = np.repeat(end, end - start)  # (E,) end of the entry's cell
    after = group_end - np.arange(len(key)) - 1  # entries after this one in its cell
    a = np.repeat(np.arange(len(key)), after)  # (P,)
    b = a + 1 + np.arange(len(a)) - np.repeat(np.cumsum(after) - after, after)
    return a, b


def overlapping_pairs(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` int64 index arrays, ``i < j``, of every two ``(K, 4)`` ``xyxy`` boxes whose
    intersection has a positive area; each pair once, in no particular order."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    valid = np.flatnonzero(np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > boxes[:, 0])
                           & (boxes[:, 3] > boxes[:, 1]))
    none = np.zeros(0, np.int64)
    if len(valid) < 2:
        return none, none
    live = boxes[valid]
    side = _cell_side(live)
    cells = np.floor(live / side).astype(np.int64)  # (V, 4) inclusive cell ranges
    origin = cells[:, :2].min(axis=0)  # (2,)
    cells -= np.tile(origin, 2)
    width = int(cells[:, 2].max()) + 1  # cells per row
    box, cx, cy = _entries(cells)
    key = cy * width + cx  # (E,) row-major cell id
    order = np.argsort(key, kind="stable")  # stable: boxes stay ascending within a cell
    box, key = box[order], key[order]
    a, b = _same_cell_pairs(key)
    i, j = box[a], box[b]  # (P,), i < j
    lo = np.maximum(live[i, :2], live[j, :2])  # (P, 2) top-left of the intersection
    hi = np.minimum(live[i, 2:], live[j, 2:])
    corner = np.floor(lo / side).astype(np.int64) - origin  # (P, 2) its cell
    keep = (hi > lo).all(axis=1) & (key[a] == corner[:, 1] * width + corner[:, 0])
    return valid[i[keep]], valid[j[keep]]


def cross_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ia, ib)``: every box of ``a`` and box of ``b`` (``(N, 4)``, ``(M, 4)`` ``xyxy``)
    whose intersection has a positive area, each pair once, in no particular order."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    i, j = overlapping_pairs(np.concatenate([a, b]))  # i < j: an a-b pair has i < len(a) <= j
    cross = (i < len(a)) & (j >= len(a))
    return i[cross], j[cross] - len(a)
