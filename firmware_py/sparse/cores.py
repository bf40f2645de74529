"""Tile cores: the frame split among the tiles without overlap, so a cue or an object is
credited to one tile instead of the two to four whose windows overlap there.

Along each axis, the overlap of two neighbouring tiles is cut at its middle; a tile's core
is the part of the frame between its cuts. The cores partition the frame (every point belongs
to exactly one, half-open ``[x0, x1) x [y0, y1)``), and an object no larger than the overlap
whose centre lies in a core lies wholly inside that tile's window.

A track is credited to its *view* instead, the tile whose detection last updated it, while its
box lies wholly inside that tile's window (:func:`view_tile`). An object in an overlap is seen
by two to four windows, at different places in each, and the detector's score differs by
view: on the 1080p still-objects clip (shipped nano int8, 50 frames) one 6 px object scored
at the threshold in 64 % of frames in its core tile and 86 % in a neighbour's. Dense mode
reports the best of all views; sparse mode runs one tile per track, so it runs the view that
found it (NMS keeps the highest-scoring copy of an object, so on a frame where several of its
tiles ran, the best of them).
"""

from __future__ import annotations

import numpy as np

from firmware_py.tiling import TileGrid


def axis_cuts(origins: np.ndarray, tile: int, size: int) -> np.ndarray:
    """``(n + 1,)`` float64 core boundaries along one axis of ``size`` pixels with tile
    ``origins`` and side ``tile``: 0, the middle of each overlap, ``size``."""
    middle = (origins[1:] + origins[:-1] + tile) / 2  # (n - 1,)
    return np.concatenate([[0.0], middle, [float(size)]])


def core_windows(grid: TileGrid) -> np.ndarray:
    """``(N, 4)`` float64 ``xyxy`` tile cores in frame pixels, row-major like the tiles."""
    xs = axis_cuts(grid.x_origins, grid.tile_width, grid.width)  # (cols + 1,)
    ys = axis_cuts(grid.y_origins, grid.tile_height, grid.height)  # (rows + 1,)
    row, col = np.divmod(np.arange(len(grid)), grid.cols)
    return np.stack([xs[col], ys[row], xs[col + 1], ys[row + 1]], axis=1)


def core_tile(grid: TileGrid, points: np.ndarray) -> np.ndarray:
    """``(K,)`` int64: the tile whose core holds each ``(x, y)`` point (``(K, 2)`` frame
    pixels; points outside the frame go to the nearest edge tile)."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    xs = axis_cuts(grid.x_origins, grid.tile_width, grid.width)
    ys = axis_cuts(grid.y_origins, grid.tile_height, grid.height)
    col = (np.searchsorted(xs, points[:, 0], side="right") - 1).clip(0, grid.cols - 1)
    row = (np.searchsorted(ys, points[:, 1], side="right") - 1).clip(0, grid.rows - 1)
    return (row * grid.cols + col).astype(np.int64)


def box_tile(grid: TileGrid, boxes: np.ndarray) -> np.ndarray:
    """``(K,)`` int64: the tile whose core holds each ``xyxy`` box's centre."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return core_tile(grid, (boxes[:, :2] + boxes[:, 2:]) / 2)


def view_tile(grid: TileGrid, boxes: np.ndarray, views: np.ndarray) -> np.ndarray:
    """``(K,)`` int64: the tile credited with each tracked ``xyxy`` box: its view (``views``,
    ``-1`` = none) while the box lies wholly inside that tile's window, else its core's tile."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    views = np.asarray(views, np.int64).reshape(-1)
    known = (views >= 0) & (views < len(grid))
    window = grid.windows[np.where(known, views, 0)].astype(np.float64).reshape(-1, 4)
    inside = known & (boxes[:, :2] >= window[:, :2]).all(axis=1) \
        & (boxes[:, 2:] <= window[:, 2:]).all(axis=1)
    return np.where(inside, views, box_tile(grid, boxes))
