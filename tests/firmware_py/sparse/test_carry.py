"""The carry: tracks of tiles not run reported as interpolated detections, moved along their
velocity, decayed, expired, and credited to the tile whose core holds them."""

import numpy as np
import pytest
from pydantic import ValidationError

from firmware_py.nms import pairwise_overlap
from firmware_py.sparse.carry import CarryConfig, carry
from firmware_py.sparse.detections import FrameDetections
from firmware_py.sparse.tracks import Tracker
from firmware_py.tiling import TileGrid

GRID = TileGrid(640, 480, 160, 160, overlap=32)  # 5 x 4 tiles


def moving_box(frame: int) -> np.ndarray:
    """A 20 px object at 3 px/frame to the right, inside tile 6 (x 128..288, y 128..288)."""
    return np.array([[140 + 3 * frame, 150, 160 + 3 * frame, 170]], np.float32)


def step(tracker: Tracker, frame: int, ran: list[int], config: CarryConfig) -> FrameDetections:
    """One frame: the object is detected when tile 6 runs."""
    boxes = moving_box(frame) if 6 in ran else np.zeros((0, 4), np.float32)
    tracker.update(frame, boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes), np.int64),
                   GRID.windows[ran])
    fresh = FrameDetections(boxes, np.full(len(boxes), 0.9, np.float32),
                            np.zeros(len(boxes), np.int64), np.full(len(boxes), 6),
                            np.zeros(len(boxes), bool))
    return carry(tracker, frame, GRID, fresh, config, overlap=0.5)


def test_a_moving_object_is_carried_along_its_track_while_its_tile_rests() -> None:
    tracker, config = Tracker(), CarryConfig(decay=0.9, max_age=10, min_score=0.05)
    ious = []
    for frame in range(15):
        ran = [6] if frame < 3 or frame % 3 == 0 else [0]  # then every 3rd frame
        out = step(tracker, frame, ran, config)
        if 6 not in ran:
            assert len(out) == 1 and out.interpolated.all() and out.tiles.tolist() == [6]
            assert out.tracks.tolist() == tracker.ids.tolist()
            assert out.scores[0] == pytest.approx(0.9 * 0.9 ** (frame % 3))
            ious.append(float(pairwise_overlap(out.boxes, moving_box(frame))[0, 0]))
        else:
            assert len(out) == 0  # seen this frame: reported fresh by the caller
    assert min(ious) > 0.95  # a still carry would fall to IoU 0.54 after 2 frames


def test_carried_detections_expire_by_age_and_by_score() -> None:
    tracker = Tracker()
    for frame in range(3):
        step(tracker, frame, [6], CarryConfig())
    assert len(step(tracker, 3, [0], CarryConfig(max_age=0))) == 0
    assert len(step(tracker, 4, [0], CarryConfig(decay=0.5, min_score=0.3))) == 0  # 0.9/4
    assert len(step(tracker, 5, [0], CarryConfig(decay=0.9, max_age=5))) == 1


def test_config_is_strict() -> None:
    with pytest.raises(ValidationError):
        CarryConfig(decay=0.0)
    with pytest.raises(ValidationError):
        CarryConfig(motion=True)  # the motion is the tracks' now
