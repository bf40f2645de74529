"""What the live view draws: tiles, fresh boxes solid, carried boxes faded, downscaled."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_py.dashboard.overlay import TILE_COLOR, Overlay, render


def gray(height: int = 200, width: int = 400) -> np.ndarray:
    frame = np.full((height, width, 3), 90, np.uint8)
    frame.flags.writeable = False  # the capture thread hands out read-only frames
    return frame


def test_tiles_are_thin_rectangles_and_the_frame_is_untouched():
    frame = gray()
    image = render(frame, Overlay(tiles=[[0, 0, 100, 100], [100, 100, 200, 200]]), [], 1280)
    assert image.shape == frame.shape and (frame == 90).all()
    assert tuple(image[0, 50]) == TILE_COLOR and tuple(image[150, 199]) == TILE_COLOR
    assert (image[50, 50] == 90).all()  # inside a tile: not filled


def test_frames_wider_than_max_width_are_downscaled_with_their_overlay():
    image = render(gray(400, 1600), Overlay(tiles=[[800, 0, 1600, 400]]), [], 400)
    assert image.shape == (100, 400, 3)
    assert tuple(image[50, 200]) == TILE_COLOR  # tile's left edge at x = 800 / 4


def test_carried_boxes_are_fainter_than_fresh_ones():
    box = [[40, 40, 60, 60]]
    names: list[str] = []
    fresh = render(gray(), Overlay(box, ("bird",), [0.9], interpolated=[False]), names, 1280)
    carried = render(gray(), Overlay(box, ("bird",), [0.9], interpolated=[True]), names, 1280)
    change = np.abs(fresh.astype(int) - 90).sum(), np.abs(carried.astype(int) - 90).sum()
    assert 0 < change[1] < change[0]
    assert names == ["bird"]  # remembered: the class keeps its colour on later frames


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length: 2, 1, 1, 2"):
        Overlay([[0, 0, 1, 1]] * 2, ("a",), [0.5])
