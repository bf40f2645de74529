"""The best-F1 score threshold on hand-made records."""

import numpy as np
import pytest

from models.operating_point import best_f1, match


def _box(x: float, y: float, s: float = 10) -> list[float]:
    return [x, y, x + s, y + s]


def test_match_is_greedy_by_score_and_one_to_one() -> None:
    truth = np.array([_box(0, 0)], np.float32)
    boxes = np.array([_box(1, 1), _box(0, 0)], np.float32)
    assert match(boxes, np.array([0.5, 0.9]), truth, 0.5).tolist() == [False, True]


def test_threshold_drops_the_false_positives_that_cost_f1() -> None:
    truth = [{"image_id": 1, "boxes": np.array([_box(0, 0), _box(50, 50)]),
              "labels": np.array([0, 0])}]
    # two hits at 0.9 and 0.6, a false box at 0.7, another at 0.2, and a class mismatch
    pred = [{"image_id": 1, "scores": np.array([0.9, 0.7, 0.6, 0.2, 0.95]),
             "boxes": np.array([_box(0, 0), _box(200, 0), _box(50, 50), _box(300, 0),
                                _box(50, 50)]),
             "labels": np.array([0, 0, 0, 0, 1])}]
    point = best_f1(truth, pred)
    # at 0.6: 3 kept of class 0 + the class-1 box -> 2 hits of 4; at 0.9: 1 of 2
    assert point.score_threshold == pytest.approx(0.6)
    assert (point.precision, point.recall) == (pytest.approx(0.5), pytest.approx(1.0))
    assert point.f1 == pytest.approx(2 / 3)


def test_nothing_to_measure_gives_none() -> None:
    empty = [{"image_id": 1, "boxes": np.zeros((0, 4)), "labels": np.zeros(0, np.int64)}]
    assert best_f1(empty, [{"image_id": 1, "scores": np.ones(1), "boxes": np.array(
        [_box(0, 0)]), "labels": np.zeros(1, np.int64)}]) is None
