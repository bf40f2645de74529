"""Overlapping detector tiles over a full-resolution frame (slicing, as in SAHI: Akyon et al.,
"Slicing Aided Hyper Inference and Fine-tuning for Small Object Detection", arXiv 2202.06934,
Sec. 3.2), shared by host evaluation and the device. numpy and stdlib only.

Downscaling a 1920x1080 frame to a 320x320 detector input shrinks a 6 px object below one
pixel; cutting the frame into full-resolution tiles keeps it. Choices of ours, where SAHI
leaves them open:

- ``overlap`` is either a fraction of the tile side (a ``float`` in ``[0, 1)``, applied to the
  width and the height separately, rounded to whole pixels) or a number of pixels (an
  ``int``, the same on both axes). It must leave a stride of at least one pixel.
- Along an axis of ``S`` pixels with tile side ``T`` and overlap ``O`` (stride ``T - O``) the
  origins are ``0, T-O, 2(T-O), ...`` and the last one is snapped to ``S - T``, so the tiles
  end exactly at the frame edge and no tile reaches outside it. Neighbours therefore overlap
  by ``O`` pixels, the last pair by ``O`` or more. Hence every pixel is covered, and every
  object at most ``O`` pixels wide (and at most the vertical ``O`` tall) lies wholly inside
  at least one tile.
- An axis shorter than the tile gets a single tile at origin 0 that sticks out past the
  frame's right (or bottom) edge; :meth:`TileGrid.crop` pads that part with ``fill`` (114,
  the grey that training pads with in ``models/data/tiles.py``). Padding only at the far
  side keeps the shift between tile and frame coordinates a plain origin offset.
- Tiles are numbered row-major: ``index = row * cols + col``.
- Boxes are ``xyxy`` floats in pixels with the pixel-edge convention (a box over columns
  3..5 has ``x0=3, x1=6``), like the rest of Specks.
- Merging across overlaps: an object cut by a tile side that lies inside the frame is seen
  again, more completely, by the neighbour across that side. :meth:`TileGrid.cut_mask` flags
  such cut detections so they can be dropped before NMS; this replaces SAHI's
  intersection-over-smaller matching with a rule that needs no threshold (see its docstring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

DEFAULT_FILL = 114


def axis_origins(size: int, tile: int, overlap: int) -> np.ndarray:
    """Tile origins along one axis of ``size`` pixels: stride ``tile - overlap``, the last
    origin snapped to ``size - tile`` (a single origin 0 when ``size <= tile``)."""
    if size <= tile:
        return np.zeros(1, dtype=np.int64)
    stride = tile - overlap
    count = 1 + math.ceil((size - tile) / stride)
    origins = np.arange(count, dtype=np.int64) * stride
    origins[-1] = size - tile
    return origins


def _overlap_px(overlap: float | int, tile: int) -> int:
    if isinstance(overlap, bool):
        raise TypeError("overlap must be an int (pixels) or a float fraction, not bool")
    if isinstance(overlap, float):
        if not 0.0 <= overlap < 1.0:
            raise ValueError(f"a fractional overlap must be in [0, 1), got {overlap}")
        pixels = round(overlap * tile)
    else:
        pixels = int(overlap)
    if not 0 <= pixels < tile:
        raise ValueError(f"overlap of {pixels} px leaves no stride for a {tile} px tile")
    return pixels


@dataclass(frozen=True)
class TileGrid:
    """Overlapping ``tile_width`` x ``tile_height`` tiles covering a ``width`` x ``height``
    frame; ``overlap`` is a float fraction of the tile side or an int number of pixels."""

    width: int
    height: int
    tile_width: int = 320
    tile_height: int = 320
    overlap: float | int = 0.2
    fill: int = DEFAULT_FILL

    def __post_init__(self) -> None:
        if min(self.width, self.height, self.tile_width, self.tile_height) < 1:
            raise ValueError(f"sizes must be positive: {self}")
        if not 0 <= self.fill <= 255:
            raise ValueError(f"fill must be a uint8 value, got {self.fill}")
        _overlap_px(self.overlap, self.tile_width)
        _overlap_px(self.overlap, self.tile_height)

    @property
    def overlap_x(self) -> int:
        """Horizontal overlap of neighbouring tiles in pixels (the last pair may overlap more)."""
        return _overlap_px(self.overlap, self.tile_width)

    @property
    def overlap_y(self) -> int:
        """Vertical overlap of neighbouring tiles in pixels (the last pair may overlap more)."""
        return _overlap_px(self.overlap, self.tile_height)

    @cached_property
    def x_origins(self) -> np.ndarray:
        """Left edges of the tile columns, ``(cols,)`` int64."""
        return axis_origins(self.width, self.tile_width, self.overlap_x)

    @cached_property
    def y_origins(self) -> np.ndarray:
        """Top edges of the tile rows, ``(rows,)`` int64."""
        return axis_origins(self.height, self.tile_height, self.overlap_y)

    @property
    def rows(self) -> int:
        return len(self.y_origins)

    @property
    def cols(self) -> int:
        return len(self.x_origins)

    def __len__(self) -> int:
        return self.rows * self.cols

    @cached_property
    def origins(self) -> np.ndarray:
        """``(N, 2)`` int64 ``(x0, y0)`` of every tile, row-major."""
        ys, xs = np.meshgrid(self.y_origins, self.x_origins, indexing="ij")  # (rows, cols)
        return np.stack([xs.ravel(), ys.ravel()], axis=1)  # (rows*cols, 2)

    @property
    def windows(self) -> np.ndarray:
        """``(N, 4)`` int64 tile rectangles ``xyxy`` in frame pixels (past the frame edge where
        the frame is smaller than a tile)."""
        size = np.array([self.tile_width, self.tile_height])
        return np.concatenate([self.origins, self.origins + size], axis=1)

    def index(self, row: int | np.ndarray, col: int | np.ndarray) -> int | np.ndarray:
        """Row-major tile index of ``(row, col)``."""
        rows, cols = np.asarray(row), np.asarray(col)
        if np.any((rows < 0) | (rows >= self.rows) | (cols < 0) | (cols >= self.cols)):
            raise IndexError(f"(row, col) outside the {self.rows}x{self.cols} grid")
        return row * self.cols + col

    def row_col(self, index: int | np.ndarray) -> tuple[int | np.ndarray, int | np.ndarray]:
        """``(row, col)`` of a row-major tile index."""
        idx = np.asarray(index)
        if np.any((idx < 0) | (idx >= len(self))):
            raise IndexError(f"tile index outside 0..{len(self) - 1}")
        return divmod(index, self.cols)

    def crop(self, frame: np.ndarray, indices: np.ndarray | list[int] | None = None,
             out: np.ndarray | None = None) -> np.ndarray:
        """Cut tiles ``indices`` (default: all, in index order) from an ``(H, W, 3)`` uint8
        frame into ``(len(indices), tile_height, tile_width, 3)`` uint8; parts past the frame
        edge are ``fill``. ``out`` (at least that many tiles, same tile shape) is reused."""
        if frame.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, the grid expects "
                             f"{self.width}x{self.height}")
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.row_col(idx)  # bounds check
        shape = (len(idx), self.tile_height, self.tile_width, *frame.shape[2:])
        if out is None:
            out = np.empty(shape, dtype=frame.dtype)
        elif out.shape[1:] != shape[1:] or len(out) < len(idx):
            raise ValueError(f"out has shape {out.shape}, needs at least {shape}")
        # Visible part of every tile: the frame ends before the tile only on a short axis.
        vis_w, vis_h = min(self.tile_width, self.width), min(self.tile_height, self.height)
        if vis_w < self.tile_width or vis_h < self.tile_height:
            out[: len(idx)] = self.fill
        for slot, (x0, y0) in enumerate(self.origins[idx]):
            out[slot, :vis_h, :vis_w] = frame[y0:y0 + vis_h, x0:x0 + vis_w]
        return out[: len(idx)]

    def to_frame(self, boxes: np.ndarray, index: int | np.ndarray, clip: bool = True
                 ) -> np.ndarray:
        """Shift ``(K, 4)`` ``xyxy`` boxes from tile pixels to frame pixels. ``index`` is one
        tile for all boxes or ``(K,)`` per box. ``clip`` clips to the frame (boxes found in the
        padding of a frame smaller than a tile)."""
        boxes = np.asarray(boxes).reshape(-1, 4)
        dtype = np.result_type(boxes.dtype, np.float32)
        idx = np.asarray(index, dtype=np.int64)
        self.row_col(idx)  # bounds check
        shift = np.tile(self.origins[idx], 2).astype(dtype)  # (4,) or (K, 4)
        shifted = boxes.astype(dtype) + shift
        if clip:
            limit = np.array([self.width, self.height, self.width, self.height], dtype=dtype)
            shifted = np.clip(shifted, 0, limit)
        return shifted

    def cut_mask(self, boxes: np.ndarray, index: np.ndarray, margin: float = 1.0,
                 active: np.ndarray | None = None) -> np.ndarray:
        """``(K,)`` bool: True where a detection (``xyxy`` in *frame* pixels, found in tile
        ``index[k]``) is cut by a side of its tile that lies inside the frame and the
        neighbour across that side sees more of it, so it is safe to drop.

        A box "touches" a side when it ends within ``margin`` pixels of it. Touching the right
        side, it is flagged when its left edge lies more than ``margin`` inside the next
        column (which then holds the box and more to its right, without touching its own left
        side); likewise for the left, top and bottom sides. Flags only ever defer to a tile
        further along the same direction (to a copy that cannot defer back), so no object,
        whatever its size, loses every copy; and for objects at most ``overlap - margin``
        pixels on each side every cut copy is flagged: after dropping flagged boxes each such
        object is left exactly in the tiles that see it whole (larger objects may keep several
        partial copies). ``active`` (``(N,)`` bool, e.g. the tiles the device ran this frame)
        restricts deferring to active neighbours."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        idx = np.broadcast_to(np.asarray(index, dtype=np.int64), (len(boxes),))
        row, col = self.row_col(idx)
        cut = np.zeros(len(boxes), dtype=bool)
        for axis, pos, origins, tile, index_step in (
                (0, col, self.x_origins, self.tile_width, 1),
                (1, row, self.y_origins, self.tile_height, self.cols)):
            lo, hi = boxes[:, axis], boxes[:, axis + 2]
            ends, last = origins + tile, len(origins) - 1
            nxt, prv = np.minimum(pos + 1, last), np.maximum(pos - 1, 0)
            forward = (pos < last) & (hi >= ends[pos] - margin) & (lo > origins[nxt] + margin)
            backward = (pos > 0) & (lo <= origins[pos] + margin) & (hi < ends[prv] - margin)
            if active is not None:
                forward &= active[idx + (nxt - pos) * index_step]
                backward &= active[idx - (pos - prv) * index_step]
            cut |= forward | backward
        return cut
