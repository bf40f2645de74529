"""The tile prior: a cheap per-tile probability that a tile holds something worth running the
detector on (step 1 of sparse-sampling inference, ``docs/architecture.md``). It is the
frame-scale counterpart of the learned sampling probability of stochastic feature sampling
(Xie et al., "Spatially Adaptive Inference with Stochastic Feature Sampling and
Interpolation", arXiv 2003.08866, Sec. 3.1), built here from three cues instead of a learned
conv:

- saliency: a map from the CSNet bundle (Cheng et al., arXiv 2003.05643) run by the caller on
  the ``lores`` frame, any ``(h, w)`` float array in ``[0, 1]`` covering the whole frame
  (unit axes, as in a ``(1, 1, h, w)`` output, are squeezed; values outside are clipped);
- motion: frame differencing of consecutive ``lores`` frames;
- memory: the last detections (e.g. :class:`~firmware_py.sparse.carry.DetectionCarry`'s
  output, whose scores already decay with age).

Choices of ours (the papers are silent on all of them):

- Pooling onto the grid. A tile's window (frame pixels) is scaled to the map's resolution
  separately on each axis, widened to whole map pixels (floor of the start, ceil of the end,
  at least one pixel) and clipped to the map. Saliency is pooled with ``max`` by default, so
  one small salient object lights its tile as strongly as a large one (``mean`` would dilute
  it by the tile's area); ``mean`` is configurable.
- Motion. Both frames go to grey (BT.601 luma for RGB, as is for a Y plane), the absolute
  difference is box-blurred (``motion_blur`` lores pixels, suppressing single-pixel sensor
  noise) and thresholded at ``motion_threshold`` grey levels; a tile's motion score is the
  ``max`` of that binary mask over its window, so it is 1 for any tile the change touches and
  0 elsewhere. The first frame, and a frame whose ``lores`` size differs from the previous
  one, has no motion.
- Memory. A tile's score is the highest score among the detections whose centre lies in its
  window (half-open ``[x0, x1) x [y0, y1)``), 0 if none.
- Fusion is a noisy-OR, ``p = 1 - (1 - base) * prod_i (1 - w_i * s_i)``: each cue alone can
  raise ``p`` up to its weight, agreeing cues reinforce each other, and since every
  ``w_i, s_i`` lies in ``[0, 1]``, ``p`` lies in ``[base, 1]``. A missing cue scores 0.
  ``base > 0`` keeps every tile drawable by the sampler (its Gumbel-top-k works on ``log p``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from firmware_py.tiling import TileGrid

Reduce = Literal["max", "mean"]

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601


class PriorConfig(BaseModel):
    """Weights and knobs of :class:`TilePrior`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    saliency_weight: float = Field(0.8, ge=0.0, le=1.0, description="noisy-OR weight of the "
                                   "pooled saliency map")
    motion_weight: float = Field(0.7, ge=0.0, le=1.0, description="noisy-OR weight of frame "
                                 "differencing")
    detection_weight: float = Field(0.9, ge=0.0, le=1.0, description="noisy-OR weight of the "
                                    "last detections")
    base: float = Field(0.02, ge=1e-6, le=1.0, description="probability floor of every tile, "
                        "so every tile stays drawable")
    saliency_pool: Reduce = Field("max", description="how the saliency map is pooled over a "
                                  "tile's window")
    motion_threshold: float = Field(20.0, ge=0.0, le=255.0, description="grey levels a blurred "
                                    "frame difference must exceed to count as motion")
    motion_blur: int = Field(3, ge=1, le=15, description="box blur side (lores pixels) applied "
                             "to the frame difference")
    saliency_every: int = Field(1, ge=1, le=1000, description="run the saliency bundle on "
                                "every Nth frame and reuse its map in between (it costs "
                                "several detector tiles)")


def map_windows(grid: TileGrid, map_height: int, map_width: int) -> np.ndarray:
    """``(N, 4)`` int64 ``xyxy`` tile windows in the pixels of an ``map_height`` x
    ``map_width`` map covering the whole frame: scaled per axis, widened to whole pixels,
    clipped to the map, at least one pixel wide and tall."""
    scale = np.array([map_width / grid.width, map_height / grid.height] * 2)
    scaled = grid.windows * scale  # (N, 4) float
    lo = np.floor(scaled[:, :2]).astype(np.int64)
    hi = np.ceil(scaled[:, 2:]).astype(np.int64)
    limit = np.array([map_width, map_height])
    lo = np.clip(lo, 0, limit - 1)
    hi = np.clip(np.maximum(hi, lo + 1), 1, limit)
    return np.concatenate([lo, hi], axis=1)


def pool_map(values: np.ndarray, grid: TileGrid, reduce: Reduce = "max") -> np.ndarray:
    """``(N,)`` float64: ``values`` (an ``(h, w)`` map over the whole frame) pooled over every
    tile's window."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"expected an (h, w) map, got shape {values.shape}")
    windows = map_windows(grid, *values.shape)
    fn = np.max if reduce == "max" else np.mean
    return np.array([fn(values[y0:y1, x0:x1]) for x0, y0, x1, y1 in windows], dtype=np.float64)


def detection_scores(grid: TileGrid, boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``(N,)``: per tile, the highest score of the detections (``xyxy`` frame pixels) whose
    centre lies in its window; 0 for tiles without one."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2  # (K, 2)
    win = grid.windows[:, None, :]  # (N, 1, 4)
    inside = ((centre[None, :, 0] >= win[..., 0]) & (centre[None, :, 0] < win[..., 2])
              & (centre[None, :, 1] >= win[..., 1]) & (centre[None, :, 1] < win[..., 3]))
    return np.where(inside, scores[None, :], 0.0).max(axis=1, initial=0.0)  # (N,)


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


def fuse(cues: np.ndarray, weights: np.ndarray, base: float) -> np.ndarray:
    """Noisy-OR of ``(C, N)`` cue scores in ``[0, 1]`` with ``(C,)`` weights:
    ``1 - (1 - base) * prod_c (1 - w_c * s_c)``."""
    cues = np.clip(np.asarray(cues, dtype=np.float64), 0.0, 1.0)
    miss = 1.0 - np.asarray(weights, dtype=np.float64)[:, None] * cues  # (C, N)
    return 1.0 - (1.0 - base) * miss.prod(axis=0)


class TilePrior:
    """Per-frame tile probability. Holds the previous grey ``lores`` frame (runtime state),
    so call it once per frame, in order."""

    def __init__(self, grid: TileGrid, config: PriorConfig | None = None) -> None:
        self.grid = grid
        self.config = config or PriorConfig()
        self._previous: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous frame (e.g. after the source reconnects)."""
        self._previous = None

    def motion(self, lores: np.ndarray) -> np.ndarray:
        """``(N,)`` in ``{0, 1}``: 1 where the blurred, thresholded difference to the previous
        ``lores`` frame touches the tile. Stores ``lores`` as the new previous frame."""
        grey, previous = to_grey(lores), self._previous
        self._previous = grey
        if previous is None or previous.shape != grey.shape:
            return np.zeros(len(self.grid))
        diff = box_blur(np.abs(grey - previous), self.config.motion_blur)
        return pool_map(diff > self.config.motion_threshold, self.grid, "max")

    def __call__(self, lores: np.ndarray | None = None, saliency: np.ndarray | None = None,
                 boxes: np.ndarray | None = None, scores: np.ndarray | None = None
                 ) -> np.ndarray:
        """``(N,)`` float64 tile probability in ``[base, 1]`` from whichever cues are given:
        the ``lores`` frame (motion), a ``saliency`` map, and the last detections ``boxes``
        (``(K, 4)`` frame pixels) with their ``scores``."""
        cfg, n = self.config, len(self.grid)
        zero = np.zeros(n)
        sal = zero if saliency is None else pool_map(
            np.clip(np.squeeze(np.asarray(saliency, dtype=np.float32)), 0.0, 1.0), self.grid,
            cfg.saliency_pool)
        mot = zero if lores is None else self.motion(lores)
        det = zero if boxes is None or scores is None else detection_scores(self.grid, boxes,
                                                                              scores)
        weights = np.array([cfg.saliency_weight, cfg.motion_weight, cfg.detection_weight])
        return fuse(np.stack([sal, mot, det]), weights, cfg.base)  # (N,)
