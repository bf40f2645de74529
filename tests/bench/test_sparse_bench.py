"""The pure helpers of bench/clips.py, bench/pipeline.py and bench/sparse_curves.py: scoring
with CLEAR-MOT switches, the replay detector, the uniform draw's overrides and the AUC."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bench.clips import ReplayModel, Score
from bench.pipeline import uniform_draw
from bench.sparse_curves import alone, auc
from firmware_py.board import load_board
from firmware_py.decode import Detections


def truth(boxes: list[list[float]], ids: list[int]) -> dict:
    return {"boxes": boxes, "track_ids": ids}


def test_score_counts_recall_precision_and_id_switches() -> None:
    score = Score(iou=0.5)
    a, b = [0, 0, 10, 10], [50, 50, 60, 60]
    score.add(truth([a, b], [1, 2]), np.array([a, b], np.float32), np.array([7, 8]), 4)
    score.add(truth([a, b], [1, 2]), np.array([a, b], np.float32), np.array([7, 9]), 4)  # 2: 8->9
    score.add(truth([a, b], [1, 2]), np.array([a], np.float32), np.array([7]), 4)  # b missed
    score.add(truth([a], [1]), np.array([a, [90, 90, 95, 95]], np.float32), np.array([7, 3]), 4)
    s = score.summary()
    assert s["recall"] == pytest.approx(6 / 7) and s["precision"] == pytest.approx(6 / 7)
    assert s["id_switches"] == 1 and s["tiles_per_frame"] == 4
    assert s["mota"] == pytest.approx(1 - (1 + 1 + 1) / 7)


def test_a_box_is_on_the_background_only_when_it_overlaps_no_object() -> None:
    score = Score(iou=0.5)
    obj = [0, 0, 10, 10]
    loose = [0, 0, 20, 20]  # IoU 0.25 with the object: a false positive, not background
    score.add(truth([obj], [1]), np.array([obj, loose, [40, 40, 50, 50]], np.float32), None, 1)
    score.add(truth([], []), np.array([[5, 5, 9, 9]], np.float32), None, 1)
    s = score.summary()
    assert s["boxes_per_frame"] == 2 and s["background_share"] == pytest.approx(2 / 4)
    assert s["precision"] == pytest.approx(1 / 4)


def test_score_keeps_a_correspondence_that_still_holds() -> None:
    # two detections overlap object 1; the one of its track keeps it (no switch), although the
    # other scores higher and overlaps more
    score = Score(iou=0.3)
    obj = [0, 0, 10, 10]
    score.add(truth([obj], [1]), np.array([obj], np.float32), np.array([5]), 1)
    score.add(truth([obj], [1]), np.array([[0, 0, 10, 10], [1, 0, 11, 10]], np.float32),
              np.array([6, 5]), 1)
    assert score.summary()["id_switches"] == 0


def test_replay_runs_each_distinct_tile_once_and_filters_by_threshold() -> None:
    class Model:
        tile_size, labels, calls = (4, 4), ("a",), 0
        manifest = SimpleNamespace(decode=SimpleNamespace(score_threshold=0.5))

        def raw(self, tile):
            Model.calls += 1
            return tile.mean() / 10

        def decode(self, outputs, threshold):
            assert threshold == ReplayModel.FLOOR
            scores = np.array([outputs, outputs / 2])
            return Detections(np.zeros((2, 4)), scores, np.zeros(2, int))

    replay = ReplayModel(Model())
    tiles = [np.full((4, 4, 3), v, np.uint8) for v in (8, 4, 8, 8, 4)]
    found = [replay.decode(replay.raw(t)).scores.tolist() for t in tiles]
    assert found == [[0.8], [], [0.8], [0.8], []] and Model.calls == replay.runs == 2
    assert replay.decode(replay.raw(tiles[1]), 0.2).scores.tolist() == [0.4, 0.2]


def test_the_uniform_draw_and_single_cue_overrides_are_valid_profiles() -> None:
    board = load_board("x86-generic", uniform_draw(5))
    assert board.sampler.budget == 5 and board.sampler.level is None
    assert board.prior.motion_weight == board.prior.edge_weight == 0.0
    only = load_board("x86-generic", alone("motion", board := load_board("x86-generic")))
    assert only.prior.motion_weight == board.prior.motion_weight
    assert only.prior.detection_weight == only.prior.edge_weight == 0.0


def test_auc_against_counting_pairs() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(300), 1)  # many ties
    positive = rng.random(300) < scores
    pairs = scores[positive][:, None] - scores[~positive][None, :]
    want = ((pairs > 0).sum() + 0.5 * (pairs == 0).sum()) / pairs.size
    assert auc(scores, positive) == pytest.approx(want)
    assert auc(np.ones(10), np.arange(10) < 5) == 0.5
