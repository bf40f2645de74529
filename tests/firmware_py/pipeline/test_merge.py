"""Cross-tile merge: cut copies give way to whole ones, one box per object, flags survive."""

from __future__ import annotations

import numpy as np

from firmware_py.board import MergeConfig
from firmware_py.pipeline.merge import merge
from firmware_py.sparse import FrameDetections
from firmware_py.tiling import TileGrid

GRID = TileGrid(180, 100, 100, 100, overlap=20)  # two tiles: x 0..100 and x 80..180


def _dets(boxes, scores, labels, tiles, interpolated=None) -> FrameDetections:
    n = len(scores)
    return FrameDetections(np.asarray(boxes, np.float32).reshape(-1, 4),
                           np.asarray(scores, np.float32), np.asarray(labels, np.int64),
                           np.asarray(tiles, np.int64),
                           np.zeros(n, bool) if interpolated is None else np.asarray(interpolated))


def test_an_object_cut_by_a_tile_side_keeps_only_its_whole_copy() -> None:
    # an object at x 95..105 is cut by tile 0's right side (x=100) and whole in tile 1
    d = _dets([[95, 40, 100, 48], [95, 40, 105, 48]], [0.9, 0.6], [0, 0], [0, 1])
    out = merge(d, GRID, np.array([True, True]), MergeConfig())
    np.testing.assert_allclose(out.boxes, [[95, 40, 105, 48]])


def test_a_cut_copy_stays_when_the_neighbour_reported_nothing() -> None:
    d = _dets([[95, 40, 100, 48]], [0.9], [0], [0])
    out = merge(d, GRID, np.array([True, False]), MergeConfig())
    assert len(out) == 1


def test_class_agnostic_merge_keeps_one_label_per_box() -> None:
    d = _dets([[10, 10, 16, 16], [10, 10, 16, 16]], [0.8, 0.5], [0, 1], [0, 0])
    assert merge(d, GRID, np.ones(2, bool), MergeConfig()).labels.tolist() == [0]
    per_class = merge(d, GRID, np.ones(2, bool), MergeConfig(class_agnostic=False))
    assert sorted(per_class.labels.tolist()) == [0, 1]


def test_below_threshold_is_dropped_and_carried_flags_survive_nmm() -> None:
    d = _dets([[10, 10, 20, 20], [11, 10, 21, 20], [50, 50, 56, 56]], [0.9, 0.5, 0.1],
              [0, 0, 0], [0, 0, 0], [True, False, False])
    out = merge(d, GRID, np.ones(2, bool), MergeConfig(method="greedy_nmm", metric="ios",
                                                     score_threshold=0.3))
    assert len(out) == 1 and out.interpolated.tolist() == [True]
    np.testing.assert_allclose(out.boxes, [[10, 10, 21, 20]])  # union of the group
