"""The edge cue of the tile prior: frame differencing at full resolution along the frame's
border, where objects enter.

An object too small for the ``lores`` frame (a 4 px drone is under one lores pixel of a 1080p
frame at 320x180) is invisible to the motion cue, and the tracks only know what was detected.
On a still camera a new object can only come in across the frame's edge (or from behind
something); a thin strip along the border is cheap to difference on the ``main`` frame
(``side`` pixels deep: 2.3 % of a 1080p frame's pixels at 8 px), and there a 4 px object is 4 px.

Choices of ours:

- The strip is converted to grey (BT.601 luma) and compared with the previous frame's strip
  through a 3x3 range test (a pixel changed when it lies outside the ``[min, max]`` of its 3x3
  neighbourhood in the previous frame by more than ``threshold`` grey levels), so a shift of
  the scene by up to one pixel per frame (a slow pan, vibration) and sensor noise do not count,
  while an object entering does.
- Changed pixels inside a live track's box (``explained``) are the track's and do not count.
- A tile is lit when a changed pixel lies in its core (:mod:`.cores`); the
  cue is 1 there and 0 elsewhere. The first frame, and a frame of another size, has none.
"""

from __future__ import annotations

import cv2
import numpy as np

from firmware_py.sparse.cores import core_tile
from firmware_py.tiling import TileGrid

KERNEL = np.ones((3, 3), np.uint8)


def _strips(height: int, width: int, side: int) -> list[tuple[slice, slice, slice, slice]]:
    """Top, bottom, left and right border strips: ``(rows, columns)`` cut ``side + 1``
    pixels deep (the inner line gives the neighbourhood of the strip's last line), and the
    ``(rows, columns)`` of the strip, ``side`` deep, within that cut."""
    d = min(side, height - 1, width - 1)
    full_h, full_w, all_ = slice(0, height), slice(0, width), slice(None)
    return [(slice(0, d + 1), full_w, slice(0, d), all_),
            (slice(height - d - 1, height), full_w, slice(1, None), all_),
            (full_h, slice(0, d + 1), all_, slice(0, d)),
            (full_h, slice(width - d - 1, width), all_, slice(1, None))]


def _grey(part: np.ndarray) -> np.ndarray:
    if part.ndim == 2:
        return part.astype(np.float32)
    return cv2.cvtColor(np.ascontiguousarray(part), cv2.COLOR_RGB2GRAY).astype(np.float32)


def changed(previous: np.ndarray, current: np.ndarray, threshold: float) -> np.ndarray:
    """``(h, w)`` bool: pixels of ``current`` more than ``threshold`` outside the range of
    their 3x3 neighbourhood in ``previous`` (float32 grey of one shape)."""
    high = cv2.dilate(previous, KERNEL, borderType=cv2.BORDER_REPLICATE)
    low = cv2.erode(previous, KERNEL, borderType=cv2.BORDER_REPLICATE)
    return (current > high + threshold) | (current < low - threshold)


class EdgeWatch:
    """Per-frame edge cue over ``grid``; holds the previous frame's border strips."""

    def __init__(self, grid: TileGrid, side: int, threshold: float) -> None:
        self.grid, self.side, self.threshold = grid, side, threshold
        self._previous: list[np.ndarray] | None = None

    def reset(self) -> None:
        self._previous = None

    def __call__(self, main: np.ndarray, explained: np.ndarray | None = None) -> np.ndarray:
        """``(N,)`` in ``{0, 1}``: 1 for the tiles whose core holds a changed border pixel of
        ``main`` (full resolution, RGB or luma), outside the ``explained`` boxes."""
        lit = np.zeros(len(self.grid))
        strips = _strips(*main.shape[:2], self.side)
        current = [_grey(main[rows, cols]) for rows, cols, _, _ in strips]
        previous, self._previous = self._previous, current
        if previous is None or any(p.shape != c.shape for p, c in zip(previous, current,
                                                                       strict=True)):
            return lit
        points = []
        for (rows, cols, keep_r, keep_c), before, now in zip(strips, previous, current,
                                                             strict=True):
            hit = np.zeros(now.shape, bool)
            hit[keep_r, keep_c] = changed(before, now, self.threshold)[keep_r, keep_c]
            ys, xs = np.nonzero(hit)
            points.append(np.stack([xs + cols.start, ys + rows.start], axis=1))
        xy = np.concatenate(points).astype(np.float64)  # (P, 2) frame pixels
        if explained is not None and len(explained) and len(xy):
            boxes = np.asarray(explained, np.float64).reshape(-1, 1, 4)  # (E, 1, 4)
            inside = ((xy[None, :, 0] >= boxes[..., 0]) & (xy[None, :, 0] < boxes[..., 2])
                      & (xy[None, :, 1] >= boxes[..., 1]) & (xy[None, :, 1] < boxes[..., 3]))
            xy = xy[~inside.any(axis=0)]
        lit[core_tile(self.grid, xy)] = 1.0  # repeats are harmless (np.unique would load np.ma)
        return lit
