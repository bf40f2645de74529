"""Frame plans for the three inference modes, one output format for all:

- ``dense``: every tile of the grid, every frame -- the SAHI-equivalent baseline (Akyon et
  al., arXiv 2202.06934, Sec. 3.2: slicing aided hyper inference);
- ``sparse``: the tiles the :class:`~firmware_py.sparse.sampler.TileSampler` draws, the
  objects in the others carried forward by the tracks (:mod:`firmware_py.sparse.carry`);
- ``full_frame``: the whole frame downscaled into a single tile -- the naive baseline that
  erases small objects.

A :class:`FramePlan` cuts the detector's input batch from the ``main`` frame and maps the
decoded boxes back to frame pixels, so the pipeline loop does not depend on the mode; its
:meth:`FramePlan.collect` returns :class:`~firmware_py.sparse.detections.FrameDetections`
in every mode. Cross-tile duplicates are left to the caller (``TileGrid.cut_mask`` with
``active``, then NMS).

Choices of ours: the full-frame letterbox keeps the aspect ratio, puts the resized frame at
the tile's top-left corner and pads the right or bottom with the grid's ``fill`` (as
:meth:`~firmware_py.tiling.TileGrid.crop` pads a short axis), so boxes map back by a plain
per-axis scale; the resize is ``cv2.INTER_AREA`` (as for the ``lores`` stream). Full-frame
detections carry tile index -1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from firmware_py.decode import Detections
from firmware_py.sparse.detections import FrameDetections
from firmware_py.sparse.sampler import TileSampler
from firmware_py.tiling import TileGrid

Mode = Literal["dense", "sparse", "full_frame"]
MODES: tuple[Mode, ...] = ("dense", "sparse", "full_frame")
FULL_FRAME_TILE = -1


@dataclass(frozen=True)
class Letterbox:
    """The whole ``grid`` frame resized, aspect kept, into one ``tile_width`` x
    ``tile_height`` tile at its top-left corner."""

    grid: TileGrid

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the resized frame inside the tile."""
        g = self.grid
        scale = min(g.tile_width / g.width, g.tile_height / g.height)
        return (min(g.tile_width, max(1, round(g.width * scale))),
                min(g.tile_height, max(1, round(g.height * scale))))

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """``(tile_height, tile_width, 3)`` uint8 letterboxed ``frame``."""
        g, (w, h) = self.grid, self.size
        out = np.full((g.tile_height, g.tile_width, *frame.shape[2:]), g.fill, frame.dtype)
        out[:h, :w] = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA).reshape(
            h, w, *frame.shape[2:])
        return out

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """``(K, 4)`` float32 ``xyxy`` boxes from tile pixels to frame pixels, clipped."""
        g, (w, h) = self.grid, self.size
        scale = np.array([g.width / w, g.height / h] * 2, dtype=np.float32)
        limit = np.array([g.width, g.height] * 2, dtype=np.float32)
        return np.clip(np.asarray(boxes, np.float32).reshape(-1, 4) * scale, 0, limit)


@dataclass(frozen=True)
class FramePlan:
    """What the detector runs on this frame: grid tiles ``indices`` (sorted), or the whole
    frame as one letterboxed tile when ``full_frame``."""

    grid: TileGrid
    indices: np.ndarray  # (n,) int64 tiles to run; empty when full_frame
    full_frame: bool = False

    def __len__(self) -> int:
        """Detector inputs this frame."""
        return 1 if self.full_frame else len(self.indices)

    @property
    def active(self) -> np.ndarray:
        """``(T,)`` bool: the grid tiles run this frame (``TileGrid.cut_mask``'s ``active``)."""
        mask = np.zeros(len(self.grid), dtype=bool)
        mask[self.indices] = True
        return mask

    def crop(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``(len(self), tile_height, tile_width, 3)`` uint8 detector inputs from ``main``."""
        if self.full_frame:
            return Letterbox(self.grid).apply(frame)[None]
        return self.grid.crop(frame, self.indices, out)

    def to_frame(self, boxes: np.ndarray, slot: int) -> np.ndarray:
        """Boxes the detector found in input ``slot`` (tile pixels) in frame pixels."""
        if self.full_frame:
            return Letterbox(self.grid).to_frame(boxes)
        return self.grid.to_frame(boxes, self.indices[slot]).astype(np.float32)

    def collect(self, detections: list[Detections]) -> FrameDetections:
        """This frame's :class:`FrameDetections` (frame pixels, not yet merged) from the
        decoded ``detections`` of each input (tile pixels)."""
        if len(detections) != len(self):
            raise ValueError(f"{len(self)} inputs ran but {len(detections)} results were given")
        tiles = [FULL_FRAME_TILE] if self.full_frame else self.indices.tolist()
        return FrameDetections.concat([FrameDetections.empty()] + [
            FrameDetections(self.to_frame(d.boxes, slot), np.asarray(d.scores, np.float32),
                            np.asarray(d.labels, np.int64), np.full(len(d), tile, np.int64),
                            np.zeros(len(d), bool))
            for slot, (tile, d) in enumerate(zip(tiles, detections, strict=True))])


def dense_plan(grid: TileGrid) -> FramePlan:
    """Every tile (the SAHI baseline)."""
    return FramePlan(grid, np.arange(len(grid), dtype=np.int64))


def sparse_plan(grid: TileGrid, sampler: TileSampler, probability: np.ndarray) -> FramePlan:
    """The sampler's tiles for this frame's prior ``probability``."""
    if sampler.num_tiles != len(grid):
        raise ValueError(f"the sampler draws from {sampler.num_tiles} tiles, the grid has "
                         f"{len(grid)}")
    return FramePlan(grid, sampler(probability))


def full_frame_plan(grid: TileGrid) -> FramePlan:
    """The whole frame letterboxed into one tile (the naive baseline)."""
    return FramePlan(grid, np.zeros(0, dtype=np.int64), full_frame=True)


def plan_frame(mode: Mode, grid: TileGrid, sampler: TileSampler | None = None,
               probability: np.ndarray | None = None) -> FramePlan:
    """The plan of ``mode``; ``sparse`` needs the ``sampler`` and the prior's
    ``probability``."""
    if mode == "dense":
        return dense_plan(grid)
    if mode == "full_frame":
        return full_frame_plan(grid)
    if mode != "sparse":
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    if sampler is None or probability is None:
        raise ValueError("sparse mode needs a sampler and the prior's probability")
    return sparse_plan(grid, sampler, probability)
