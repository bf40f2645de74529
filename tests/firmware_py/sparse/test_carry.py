import numpy as np
import pytest
from pydantic import ValidationError

from firmware_py.decode import Detections
from firmware_py.nms import nms, pairwise_overlap
from firmware_py.sparse.carry import CarryConfig, DetectionCarry, FrameDetections, greedy_match


def dets(boxes: list[list[float]], scores: list[float], labels: list[int] | None = None
         ) -> Detections:
    return Detections(np.array(boxes, np.float32).reshape(-1, 4),
                      np.array(scores, np.float32),
                      np.array(labels if labels is not None else [0] * len(scores), np.int64))


NONE = dets([], [])
STILL = CarryConfig(decay=0.8, max_age=10, min_score=0.01, motion=False)


def test_fresh_detections_are_reported_as_found() -> None:
    carry = DetectionCarry(4, STILL)
    out = carry.step(np.array([1, 2]), [dets([[0, 0, 5, 5]], [0.9]), dets([[9, 9, 12, 12],
                                                                            [1, 1, 3, 3]],
                                                                           [0.4, 0.7], [1, 2])])
    np.testing.assert_allclose(out.scores, [0.9, 0.7, 0.4])  # descending
    np.testing.assert_array_equal(out.tiles, [1, 2, 2])
    np.testing.assert_array_equal(out.labels, [0, 2, 1])
    assert not out.interpolated.any()
    assert out.boxes.dtype == np.float32 and out.labels.dtype == np.int64


def test_carried_detections_decay_and_are_flagged_interpolated() -> None:
    carry = DetectionCarry(4, STILL)
    carry.step(np.array([0]), [dets([[10, 10, 20, 20]], [0.9])])
    for age in (1, 2, 3):
        out = carry.step(np.array([3]), [NONE])
        assert len(out) == 1
        np.testing.assert_allclose(out.scores, [0.9 * 0.8 ** age], rtol=1e-6)
        np.testing.assert_array_equal(out.boxes, [[10, 10, 20, 20]])
        assert out.interpolated.all() and out.tiles.tolist() == [0]


def test_carried_detections_expire_by_age_and_by_score() -> None:
    carry = DetectionCarry(2, CarryConfig(decay=0.9, max_age=3, min_score=0.0, motion=False))
    carry.step(np.array([0]), [dets([[0, 0, 4, 4]], [0.9])])
    assert [len(carry.step(np.array([1]), [NONE])) for _ in range(5)] == [1, 1, 1, 0, 0]
    carry = DetectionCarry(2, CarryConfig(decay=0.5, max_age=10, min_score=0.04, motion=False))
    carry.step(np.array([0]), [dets([[0, 0, 4, 4], [5, 5, 9, 9]], [0.8, 0.1])])
    assert [len(carry.step(np.array([], np.int64), [])) for _ in range(5)] == [2, 1, 1, 1, 0]


def test_a_tile_that_runs_replaces_what_it_carried() -> None:
    carry = DetectionCarry(3, STILL)
    carry.step(np.array([0, 1]), [dets([[0, 0, 4, 4]], [0.9]), dets([[50, 0, 60, 8]], [0.6])])
    carry.step(np.array([2]), [NONE])
    out = carry.step(np.array([0, 1]), [dets([[1, 1, 5, 5]], [0.5]), NONE])
    np.testing.assert_array_equal(out.boxes, [[1, 1, 5, 5]])  # the empty run cleared tile 1
    np.testing.assert_allclose(out.scores, [0.5])
    assert not out.interpolated.any()


def test_cross_tile_duplicates_are_left_for_the_callers_nms() -> None:
    carry = DetectionCarry(2, STILL)
    same = [[100, 10, 110, 20]]
    carry.step(np.array([0, 1]), [dets(same, [0.8]), dets(same, [0.7])])
    out = carry.step(np.array([1]), [dets(same, [0.75])])  # tile 0 carries, tile 1 ran
    assert len(out) == 2 and out.interpolated.tolist() == [False, True]
    keep = nms(out.boxes, out.scores, out.labels, 0.5)
    assert keep.tolist() == [0]  # the fresh detection outranks the decayed copy


def moving_box(frame: int) -> np.ndarray:
    x = 100.0 + 3.0 * frame  # 3 px per frame, a 20 px object
    return np.array([[x, 50.0, x + 20.0, 70.0]], np.float32)


def carried_iou(motion: bool) -> list[float]:
    """IoU of the carried box with the true box on the frames the tile does not run (it runs
    every third frame)."""
    carry = DetectionCarry(1, CarryConfig(decay=0.9, max_age=5, min_score=0.0, motion=motion))
    ious = []
    for frame in range(15):
        if frame % 3 == 0:
            carry.step(np.array([0]), [Detections(moving_box(frame), np.array([0.9], np.float32),
                                                  np.array([0]))])
        else:
            out = carry.step(np.array([], np.int64), [])
            ious.append(float(pairwise_overlap(out.boxes, moving_box(frame))[0, 0]))
    return ious


def test_the_motion_shift_keeps_carried_boxes_on_a_moving_object() -> None:
    still, moving = carried_iou(False), carried_iou(True)
    # Before the second run there is no velocity yet: both agree.
    assert moving[:2] == still[:2]
    np.testing.assert_allclose(moving[2:], 1.0, atol=1e-6)
    assert max(still) < 0.75  # without the shift a carried box lags 3-6 px behind
    assert np.mean(moving) > np.mean(still) + 0.2


def test_the_motion_shift_leaves_still_objects_and_other_classes_alone() -> None:
    carry = DetectionCarry(1, CarryConfig(min_score=0.0))
    carry.step(np.array([0]), [dets([[0, 0, 10, 10], [30, 0, 40, 10]], [0.9, 0.8], [0, 1])])
    carry.step(np.array([0]), [dets([[0, 0, 10, 10], [33, 0, 43, 10]], [0.9, 0.8], [0, 2])])
    out = carry.step(np.array([], np.int64), [])
    np.testing.assert_array_equal(out.boxes, [[0, 0, 10, 10], [33, 0, 43, 10]])


def test_greedy_match_is_one_to_one_by_descending_iou() -> None:
    old = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], np.float32)
    new = np.array([[1, 0, 11, 10], [0, 0, 10, 10], [21, 0, 31, 10], [90, 90, 95, 95]],
                   np.float32)
    labels = np.zeros(4, np.int64)
    match = greedy_match(new, old, labels, labels[:2], 0.3)
    np.testing.assert_array_equal(match, [-1, 0, 1, -1])


def test_step_validates_its_arguments() -> None:
    carry = DetectionCarry(2)
    with pytest.raises(ValueError):
        carry.step(np.array([0, 1]), [NONE])
    with pytest.raises(IndexError):
        carry.step(np.array([2]), [NONE])
    with pytest.raises(ValidationError):
        CarryConfig(decay=0.0)
    with pytest.raises(ValidationError):
        CarryConfig(ttl=3)
    assert len(FrameDetections.empty()) == 0
