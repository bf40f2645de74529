"""Cross-tile merge of one frame's detections (step 3 of ``docs/architecture.md``): overlapping
tiles see an object twice, and a tile side cuts it into a partial copy.

Order: (1) drop copies cut by a tile side whose neighbour holds the object whole
(:meth:`~firmware_py.tiling.TileGrid.cut_mask`, deferring only to tiles that reported this
frame: run now, or carrying detections); (2) drop scores below the reporting threshold; (3)
class-wise NMS (default) or SAHI's greedy NMM (``merge.method``).

Merging is class-agnostic by default (``merge.class_agnostic``): a CenterNet heatmap unsure
of a tiny object's class peaks in two channels at one cell, giving the same box twice under
two labels; the higher-scoring one is kept.

Why NMS by default: after (1), an object up to the overlap in size is left only in the tiles
that see it whole, so its copies are near-identical boxes and NMS keeps the best-scored,
fresh one over decayed carried copies. Greedy NMM (union boxes, SAHI's default) is for
objects larger than the overlap, whose partial copies survive (1); it can also grow a box
over two nearby small objects, so it is opt-in.
"""

from __future__ import annotations

import numpy as np

from firmware_py.board import MergeConfig
from firmware_py.nms import greedy_nmm, merge_groups, nms
from firmware_py.sparse import FrameDetections
from firmware_py.sparse.modes import FULL_FRAME_TILE
from firmware_py.tiling import TileGrid


def drop_cut(d: FrameDetections, grid: TileGrid, active: np.ndarray, margin: float
             ) -> FrameDetections:
    """Drop detections cut by a tile side whose ``active`` neighbour sees more of them."""
    tiled = d.tiles != FULL_FRAME_TILE
    if not tiled.any():
        return d
    reporting = active.copy()
    reporting[d.tiles[tiled]] = True
    cut = np.zeros(len(d), dtype=bool)
    cut[tiled] = grid.cut_mask(d.boxes[tiled], d.tiles[tiled], margin, reporting)
    return d.select(~cut)


def merge(d: FrameDetections, grid: TileGrid, active: np.ndarray, config: MergeConfig,
          margin: float = 1.0) -> FrameDetections:
    """One frame's final detections, descending score (``config.score_threshold`` None:
    the tiles' decode threshold already applied, nothing more is dropped here)."""
    d = drop_cut(d, grid, active, margin)
    d = d.select(d.scores >= (config.score_threshold or 0.0))
    labels = None if config.class_agnostic else d.labels
    if config.method == "nms":
        return d.select(nms(d.boxes, d.scores, labels, config.threshold, config.metric))
    groups = greedy_nmm(d.boxes, d.scores, labels, config.threshold, config.metric)
    kept = d.select(np.fromiter(groups, dtype=np.int64, count=len(groups)))
    boxes = merge_groups(d.boxes, groups, config.threshold, config.metric)
    return FrameDetections(boxes, kept.scores, kept.labels, kept.tiles, kept.interpolated,
                           kept.tracks)
