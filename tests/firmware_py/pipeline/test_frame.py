"""FrameProcessor: each mode's tiles, and dense output equals the detector run tile by tile
and merged (the pipeline adds nothing of its own)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from firmware_py.board import BoardConfig
from firmware_py.pipeline.frame import FrameProcessor
from firmware_py.pipeline.merge import merge
from firmware_py.sources import Frame
from firmware_py.sparse import FrameDetections

from .conftest import scene


def _frame(i: int, width: int = 100, height: int = 70) -> Frame:
    main = scene(i, width, height)
    return Frame(i, time.monotonic(), time.time(), main, main[::4, ::4].copy(), "test", i)


def _board(**update) -> BoardConfig:
    return BoardConfig.model_validate({"sampler": {"budget": 2, "revisit_frames": 4},
                                       "merge": {"score_threshold": 0.05}, **update})


def test_dense_equals_tile_by_tile_detection_then_merge(model) -> None:
    proc = FrameProcessor(_board(), model, "dense")
    frame = _frame(0)
    result = proc(frame)
    grid = proc.grid
    assert result.tiles_run == result.tiles_total == len(grid) == 12  # 4 cols x 3 rows
    per_tile = model.detect(grid.crop(frame.main))
    parts = [FrameDetections(grid.to_frame(d.boxes, i).astype(np.float32), d.scores, d.labels,
                             np.full(len(d), i), np.zeros(len(d), bool))
             for i, d in enumerate(per_tile)]
    expected = merge(FrameDetections.concat(parts), grid, np.ones(len(grid), bool),
                     proc.board.merge)
    assert len(expected) > 0  # the scene really produces detections
    np.testing.assert_allclose(result.detections.boxes, expected.boxes)
    np.testing.assert_allclose(result.detections.scores, expected.scores)


def test_sparse_runs_the_budget_and_visits_every_tile_within_the_revisit_period(model) -> None:
    proc = FrameProcessor(_board(), model, "sparse")
    seen = set()
    for i in range(6):
        result = proc(_frame(i))
        assert result.tiles_run == 3  # budget 2 raised to ceil(12 / 4)
        seen.update(result.plan.indices.tolist())
    assert seen == set(range(12))


def test_full_frame_runs_one_tile(model) -> None:
    result = FrameProcessor(_board(), model, "full_frame")(_frame(0))
    assert result.tiles_run == result.tiles_total == 1


def test_a_new_frame_size_rebuilds_the_grid(model) -> None:
    proc = FrameProcessor(_board(), model, "sparse")
    proc(_frame(0))
    assert len(proc.grid) == 12
    proc(_frame(1, 64, 32))
    assert (proc.grid.width, proc.grid.height) == (64, 32) and len(proc.grid) == 3


@pytest.mark.parametrize("mode", ["dense", "sparse", "full_frame"])
def test_boxes_are_in_frame_pixels(model, mode: str) -> None:
    proc = FrameProcessor(_board(), model, mode)
    for i in range(3):
        boxes = proc(_frame(i)).detections.boxes
        assert np.all(boxes[:, 2:] >= boxes[:, :2])
        assert boxes[:, 0].min(initial=0) >= -32 and boxes[:, 2].max(initial=0) <= 100 + 32


class CountingPrior:
    """Stand-in for a saliency bundle: a constant map, counting its calls."""

    tile_size = (12, 20)

    def __init__(self) -> None:
        self.calls = 0

    def saliency(self, image: np.ndarray) -> np.ndarray:
        assert image.shape == (12, 20, 3)  # the lores frame resized to the prior's input
        self.calls += 1
        return np.full((12, 20), 0.5, np.float32)


@pytest.mark.parametrize(("every", "calls"), [(1, 7), (3, 3)])
def test_the_saliency_prior_runs_every_nth_sparse_frame(model, every: int, calls: int) -> None:
    prior = CountingPrior()
    proc = FrameProcessor(_board(prior={"saliency_every": every}), model, "sparse", prior)
    for i in range(7):
        proc(_frame(i))
    assert prior.calls == calls  # frames 0, 3, 6 when every = 3
