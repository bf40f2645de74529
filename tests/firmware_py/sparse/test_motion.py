"""Motion differencing that a panning camera and a light change do not fool, and that still
sees a moving object."""

import cv2
import numpy as np

from firmware_py.sparse.motion import frame_difference, global_shift, to_grey

SCENE = cv2.GaussianBlur(np.random.default_rng(0).uniform(0, 255, (400, 500)).astype(np.float32),
                         (0, 0), 1.0)  # a textured world, larger than the view


def view(x: float, y: float, gain: float = 1.0) -> np.ndarray:
    """A 160 x 120 view of the scene at a sub-pixel position (what a panning camera sees)."""
    shift = np.float32([[1, 0, -x], [0, 1, -y]])
    return cv2.warpAffine(SCENE, shift, (160, 120), flags=cv2.INTER_LINEAR) * gain


def test_the_global_shift_is_the_scenes_motion() -> None:
    dx, dy = global_shift(view(100, 80), view(103, 78))  # camera right 3, up 2
    assert abs(dx + 3) < 0.3 and abs(dy - 2) < 0.3


def test_a_pan_is_not_motion_once_aligned() -> None:
    before, after = view(100, 80), view(100.6, 80.3)
    plain = frame_difference(before, after, align=False, gain=False)
    aligned = frame_difference(before, after, align=True, gain=False, threshold=10)
    assert (plain > 10).sum() > 500 and (aligned > 10).sum() == 0
    assert (aligned[:, 159] == 0).all()  # the revealed column counts as no motion


def test_a_light_change_is_not_motion_with_the_gain() -> None:
    before, after = view(100, 80), view(100, 80, gain=1.15)
    assert (frame_difference(before, after, align=False, gain=False) > 10).sum() > 500
    assert (frame_difference(before, after, align=False, gain=True) > 10).sum() == 0


def test_a_moving_object_is_still_motion() -> None:
    before, after = view(100, 80), view(100, 80)
    before[50:54, 60:64] = 255
    after[50:54, 64:68] = 255
    moved = frame_difference(before, after, align=True, gain=True, threshold=30) > 30
    ys, xs = np.nonzero(moved)
    assert moved.any() and ys.min() >= 50 and ys.max() < 54 and xs.min() >= 60 and xs.max() < 68


def test_a_misleading_shift_on_a_flat_scene_is_not_applied() -> None:
    flat = np.full((120, 160), 90, np.float32)
    before, after = flat.copy(), flat.copy()
    before[20:23, 30:33] = 200  # the only texture moves: a shift "explains" it
    after[20:23, 35:38] = 200
    diff = frame_difference(before, after, align=True, gain=False, threshold=20)
    np.testing.assert_array_equal(diff, np.abs(after - before))


def test_to_grey_is_bt601_luma() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8)
    np.testing.assert_allclose(to_grey(rgb), [[0.299 * 255, 0.587 * 255]], rtol=1e-5)
    np.testing.assert_array_equal(to_grey(np.full((2, 2), 7, np.uint8)), 7.0)
