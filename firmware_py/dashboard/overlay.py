"""What the live view shows of one frame: the detector tiles run on it and its boxes.

The frame is first shrunk to at most ``max_width`` and the boxes scaled with it, so boxes stay
one pixel wide and tiny objects stay marked (boxes are drawn a few pixels outside the object
by :func:`firmware_py.draw.draw_detections`). The shrink is ``cv2.INTER_LINEAR``, not the
alias-free ``INTER_AREA``: this picture is for people, the boxes mark what it may blur away,
and AREA cost about 5x more (9.8 ms against 2.1 ms for 1920x1080 -> 1280x720 here). Tiles are thin
rectangles in one colour not in the class palette. Boxes carried forward from an earlier frame
(``interpolated``) are drawn at half opacity; boxes detected on this frame are drawn solid on
top. Colours are stable per class name: the caller keeps ``names`` and this module appends
names it has not seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from firmware_py.draw import draw_detections

TILE_COLOR = (0, 255, 128)  # RGB
CARRIED_OPACITY = 0.5


@dataclass(frozen=True)
class Overlay:
    """Boxes and tiles of one frame, in full-frame pixels."""

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # (N, 4)
    labels: tuple[str, ...] = ()  # (N,) class names
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (N,)
    tiles: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int64))  # (T, 4) xyxy
    interpolated: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (N,)

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)  # (N, 4)
        scores = np.asarray(self.scores, np.float32).reshape(-1)  # (N,)
        labels = tuple(str(name) for name in self.labels)
        tiles = np.asarray(self.tiles, np.int64).reshape(-1, 4)  # (T, 4)
        carried = np.asarray(self.interpolated, bool).reshape(-1)  # (N,)
        if carried.size == 0:
            carried = np.zeros(len(boxes), bool)
        if not len(boxes) == len(scores) == len(labels) == len(carried):
            raise ValueError(f"boxes, scores, labels and interpolated differ in length: "
                             f"{len(boxes)}, {len(scores)}, {len(labels)}, {len(carried)}")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "tiles", tiles)
        object.__setattr__(self, "interpolated", carried)


def render(frame: np.ndarray, overlay: Overlay, names: list[str], max_width: int) -> np.ndarray:
    """A new RGB image: ``frame`` (H, W, 3), at most ``max_width`` wide, with ``overlay``."""
    height, width = frame.shape[:2]
    scale = min(1.0, max_width / width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
    else:
        image = np.ascontiguousarray(frame).copy()
    for x0, y0, x1, y1 in np.round(overlay.tiles * scale).astype(int).tolist():
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), TILE_COLOR, 1)
    for name in overlay.labels:
        if name not in names:
            names.append(name)
    ids = np.array([names.index(name) for name in overlay.labels], np.int64)  # (N,)
    boxes = overlay.boxes * scale  # (N, 4)
    carried = overlay.interpolated
    if carried.any():
        faded = draw_detections(image, boxes[carried], overlay.scores[carried], ids[carried],
                                names)
        image = cv2.addWeighted(faded, CARRIED_OPACITY, image, 1.0 - CARRIED_OPACITY, 0.0)
    fresh = ~carried
    return draw_detections(image, boxes[fresh], overlay.scores[fresh], ids[fresh], names)
