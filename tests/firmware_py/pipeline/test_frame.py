"""FrameProcessor: each mode's tiles, and dense output equals the detector run tile by tile
and merged (the pipeline adds nothing of its own)."""

from __future__ import annotations

import logging
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


def test_sparse_with_a_budget_covering_the_grid_says_once_that_it_runs_dense(model, caplog
                                                                             ) -> None:
    prior = CountingPrior()
    proc = FrameProcessor(_board(sampler={"budget": 12}), model, "sparse", prior)
    with caplog.at_level("INFO", logger="firmware_py.pipeline.frame"):
        results = [proc(_frame(i)) for i in range(4)]
    assert all(r.tiles_run == r.tiles_total == 12 for r in results)
    assert prior.calls == 0  # no prior while every tile runs anyway
    said = [r.getMessage() for r in caplog.records if "runs as dense" in r.getMessage()]
    assert len(said) == 1 and "12 tiles" in said[0] and "budget is 12" in said[0]


def test_every_detection_carries_a_stable_track_id(model) -> None:
    proc = FrameProcessor(_board(), model, "dense")
    frame = _frame(0)
    first = proc(frame).detections
    assert len(first) > 0 and (first.tracks >= 0).all()
    assert len(set(first.tracks.tolist())) == len(first)
    for _ in range(3):  # the same scene again: the same objects, the same ids
        again = proc(frame).detections
        assert sorted(again.tracks.tolist()) == sorted(first.tracks.tolist())


def test_adaptive_sparse_runs_the_unknown_grid_first_then_what_the_prior_lights(model) -> None:
    board = _board(sampler={"budget": 12, "revisit_frames": 50, "level": 0.5, "explore": 0.0})
    proc = FrameProcessor(board, model, "sparse")
    frame = _frame(0)
    runs = [proc(frame) for _ in range(6)]
    assert runs[0].tiles_run == 12  # nothing known yet
    assert runs[-1].tiles_run < 12  # a still scene: only what the tracks need
    carried = runs[-1].detections.interpolated
    assert carried.any() and (runs[-1].detections.tracks >= 0).all()


def test_the_reporting_threshold_is_the_bundles_unless_the_profile_sets_one(model) -> None:
    deployed = model.manifest.decode.score_threshold
    unset = _board(merge={})
    assert unset.merge.score_threshold is None
    assert FrameProcessor(unset, model).board.merge.score_threshold == deployed
    own = _board(merge={"score_threshold": 0.42})
    assert FrameProcessor(own, model).board.merge.score_threshold == 0.42


def test_a_budget_above_the_tile_count_is_said(model, caplog) -> None:
    proc = FrameProcessor(_board(sampler={"budget": 1000, "revisit_frames": 4}), model,
                          "sparse")
    with caplog.at_level(logging.WARNING):
        proc(_frame(0))
    assert "tile budget 1000 is more than the" in caplog.text


def test_weak_detections_feed_the_sparse_tracks_but_are_never_reported(model) -> None:
    report = 0.492  # the untrained test net scores every blob 0.48-0.50
    board = _board(merge={"score_threshold": report}, tracks={"weak_share": 0.6})
    sparse, dense = FrameProcessor(board, model, "sparse"), FrameProcessor(board, model, "dense")
    plain = FrameProcessor(_board(merge={"score_threshold": report}), model, "dense")
    weak_tracks = 0
    for i in range(6):
        assert (sparse(_frame(i)).detections.scores >= report).all()
        weak_tracks += int(np.sum(sparse.tracker.score < report))
        a, b = dense(_frame(i)).detections, plain(_frame(i)).detections
        np.testing.assert_array_equal(a.boxes, b.boxes)  # dense decodes at the threshold
        np.testing.assert_array_equal(a.scores, b.scores)
    assert weak_tracks > 0  # the scene has weak detections, and they made tracks
