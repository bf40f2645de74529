"""Frame differencing for the tile prior's motion cue, robust to a moving camera and to light
changes: the absolute difference of two consecutive grey ``lores`` frames after the previous
one is aligned to the current one (global translation) and matched in brightness (global
gain). Without them, a camera panning by a fraction of a lores pixel per frame, or the light
changing by a few percent, lights every textured tile (issue 16's ``pan`` and ``flicker``
clips).

- Alignment: phase correlation (Kuglin and Hines, "The phase correlation image alignment
  method", 1975; OpenCV's ``cv2.phaseCorrelate``, sub-pixel, with a Hanning window against
  the edge effects of the DFT) estimates the translation of the current frame against the
  previous one; the previous frame is shifted by it (bilinear, ``cv2.warpAffine``). Only a
  translation is modelled: a slow pan or tilt of a distant scene, which is what a fixed board
  camera on a pan mount or a swaying pole sees. A shift is sought only when at least
  ``MIN_CHANGE`` of the frame changed (a moving camera changes the whole textured frame, a
  few small objects do not: on a flat sky, aligning onto the one moving object would erase
  it), and kept only when it explains the change better than no shift: when it leaves fewer
  pixels above the motion threshold over the pixels both frames cover. The strip the camera
  reveals (whole pixels next to the edge the scene moves away from) has no previous frame:
  its difference is 0.
- Gain: the previous frame is scaled by the ratio of the two frames' mean grey over the
  compared pixels, undoing a global light change (a flicker or a cloud); a light gradient
  across the frame remains (the tile prior's threshold absorbs a few grey levels).
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601
MIN_SHIFT = 0.02  # lores pixels; smaller estimated shifts are left alone (no resampling)
MIN_CHANGE = 0.01  # share of the frame that must change before a camera motion is sought


def to_grey(image: np.ndarray) -> np.ndarray:
    """``(h, w)`` float32 grey of an ``(h, w, 3)`` RGB or ``(h, w)`` luma uint8 image."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        return image.astype(np.float32) @ LUMA
    if image.ndim == 2:
        return image.astype(np.float32)
    raise ValueError(f"expected (h, w, 3) RGB or (h, w) luma, got shape {image.shape}")


def box_blur(image: np.ndarray, side: int) -> np.ndarray:
    """Mean over a ``side`` x ``side`` window (edge-replicated), via summed-area tables."""
    if side <= 1:
        return image
    before, after = side // 2, side - 1 - side // 2
    padded = np.pad(image, ((before, after), (before, after)), mode="edge")
    table = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))  # (h+side, w+side)
    h, w = image.shape
    total = (table[side:side + h, side:side + w] - table[:h, side:side + w]
             - table[side:side + h, :w] + table[:h, :w])
    return total / (side * side)


@lru_cache(maxsize=4)
def _hanning(height: int, width: int) -> np.ndarray:
    return cv2.createHanningWindow((width, height), cv2.CV_32F)


def global_shift(previous: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """``(dx, dy)`` lores pixels the scene moved from ``previous`` to ``current`` (float32
    grey of one shape), by windowed phase correlation."""
    (dx, dy), _ = cv2.phaseCorrelate(previous, current, _hanning(*current.shape))
    return float(dx), float(dy)


def _revealed(shape: tuple[int, int], dx: float, dy: float) -> tuple[slice, slice]:
    """Rows and columns of the frame the previous one does not cover after a shift."""
    h, w = shape
    cx, cy = math.ceil(abs(dx)), math.ceil(abs(dy))
    cols = slice(0, min(cx, w)) if dx > 0 else slice(max(w - cx, 0), w)
    rows = slice(0, min(cy, h)) if dy > 0 else slice(max(h - cy, 0), h)
    return rows, cols


def _gain(previous: np.ndarray, current: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``previous`` scaled to ``current``'s mean grey over ``valid``."""
    mean = float(previous[valid].mean()) if valid.any() else 0.0
    return previous * np.float32(float(current[valid].mean()) / mean) if mean > 0 else previous


def frame_difference(previous: np.ndarray, current: np.ndarray, align: bool = True,
                     gain: bool = True, threshold: float = 0.0) -> np.ndarray:
    """``(h, w)`` float32 ``|current - previous'|``, ``previous'`` the previous grey frame
    shifted onto the current one (``align``) and scaled to its mean (``gain``); 0 where the
    camera revealed new ground. A shift is sought only when at least ``MIN_CHANGE`` of the
    frame differs by more than ``threshold`` (a camera motion changes the whole textured
    frame; a few moving objects do not), and kept only when it leaves fewer pixels above
    ``threshold`` over the pixels both frames cover (phase correlation also answers on a
    still camera, biased by the moving objects where the scene has little texture)."""
    valid = np.ones(current.shape, bool)
    diff = np.abs(current - (_gain(previous, current, valid) if gain else previous))
    if not align:
        return diff
    if (diff > threshold).mean() < MIN_CHANGE:
        return diff
    dx, dy = global_shift(previous, current)
    if max(abs(dx), abs(dy)) < MIN_SHIFT:
        return diff
    moved = cv2.warpAffine(previous, np.float32([[1, 0, dx], [0, 1, dy]]), current.shape[::-1],
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rows, cols = _revealed(current.shape, dx, dy)
    valid[:, cols] = False
    valid[rows, :] = False
    aligned = np.abs(current - (_gain(moved, current, valid) if gain else moved))
    if (aligned[valid] > threshold).sum() >= (diff[valid] > threshold).sum():
        return diff
    aligned[~valid] = 0.0
    return aligned
