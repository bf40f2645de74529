"""The tile prior: a cheap per-tile probability that a tile holds something worth running the
detector on (step 1 of sparse-sampling inference, ``docs/architecture.md``). It is the
frame-scale counterpart of the learned sampling probability of stochastic feature sampling
(Xie et al., "Spatially Adaptive Inference with Stochastic Feature Sampling and
Interpolation", arXiv 2003.08866, Sec. 3.1), built here from four cues instead of a learned
conv:

- saliency: a map from the CSNet bundle (Cheng et al., arXiv 2003.05643) run by the caller on
  the ``lores`` frame, any ``(h, w)`` float array in ``[0, 1]`` covering the whole frame
  (unit axes, as in a ``(1, 1, h, w)`` output, are squeezed; values outside are clipped);
- motion: frame differencing of consecutive ``lores`` frames;
- edges: frame differencing of the ``main`` frame's border strips, where objects enter
  (:mod:`.edges`);
- memory: the last detections (the pipeline passes its tracks, see below).

Choices of ours (the papers are silent on all of them):

- Where a cue counts: the tile's core (default) or its whole window. Neighbouring windows
  overlap, so a cue in an overlap would light two to four tiles when one run sees the object
  whole. The cores partition the frame instead (:mod:`.cores`): every point belongs to
  exactly one tile's core, and an object no larger than the overlap whose centre lies in a
  core lies wholly inside that tile's window. ``region="window"`` keeps the windows.
- Pooling onto the grid. A tile's region (frame pixels) is scaled to the map's resolution
  separately on each axis, widened to whole map pixels (floor of the start, ceil of the end,
  at least one pixel) and clipped to the map. Saliency is pooled with ``max`` by default, so
  one small salient object lights its tile as strongly as a large one (``mean`` would dilute
  it by the tile's area); ``mean`` is configurable.
- Motion. Both frames go to grey (BT.601 luma for RGB, as is for a Y plane), the absolute
  difference is box-blurred (``motion_blur`` lores pixels, suppressing single-pixel sensor
  noise) and thresholded at ``motion_threshold`` grey levels; a tile's motion score is the
  ``max`` of that binary mask over its region, so it is 1 for any tile the change touches and
  0 elsewhere; motion inside the ``explained`` boxes (where known tracks are and were a frame
  ago: their own need decides when they run) is left out (``explain_motion``). The first
  frame, and a frame whose ``lores`` size differs from the previous one, has no motion. Two
  corrections keep a moving camera and changing light from lighting
  every tile (:mod:`.motion`): the previous frame is first shifted onto the current one by
  the global translation phase correlation finds (``motion_align``; the strip the camera
  reveals has no previous frame and counts as no motion), then scaled by the ratio of the two
  frames' mean grey (``motion_gain``).
- Memory. A tile's score is the highest score among the detections whose centre lies in its
  region (half-open ``[x0, x1) x [y0, y1)``), or that are credited to it (the pipeline
  credits a track to its view, :func:`~firmware_py.sparse.cores.view_tile`), 0 if none.
  The caller chooses the detections and their scores; the pipeline passes its tracks at
  their predicted boxes, scored 1 when the track needs a detector run this frame and 0 when
  the carry can hold it
  (:func:`track_need`): a track whose prediction error is not known yet (seen once or twice)
  needs one every frame; the others once their expected position error (prediction error
  per frame times frames unseen) reaches ``track_tolerance`` of their box's shorter side, or
  they were last seen ``refresh_frames`` ago, or their carried score would fall below the
  reporting threshold; none once older than the carry's ``max_age`` or missed
  ``track_misses`` times in a row where a run tile could see it (the object left, or it was
  a false positive: the other cues find it again if it comes back). Lighting the tile of
  every past detection instead keeps the tiles of still objects and of the detector's still
  false positives busy every frame, and a moving camera makes every track move: what
  matters is whether the carry can predict it, not its speed.
- Other views. Dense mode sees an object in an overlap in two to four windows and reports
  the best; sparse mode runs one tile per track (its view, :func:`~firmware_py.sparse.cores.
  view_tile`). A still object whose score hovers at the threshold is then found less often
  than by dense mode (1080p still-objects clip: sparse recall 2.5 points under dense). Such a
  track (reported once, still, now under the threshold, needing a run) gives every window
  that holds it a memory score of ``other_views``: with the profiles' detection weight (0.9)
  and level (0.5) that is under the level on its own (p 0.46), so these tiles are not lit
  but are what the exploration share draws first, at no extra tiles (measured: gap 2.5 ->
  1.4 points at 22 % of dense's tiles).
- Fusion is a noisy-OR, ``p = 1 - (1 - base) * prod_i (1 - w_i * s_i)``: each cue alone can
  raise ``p`` up to its weight, agreeing cues reinforce each other, and since every
  ``w_i, s_i`` lies in ``[0, 1]``, ``p`` lies in ``[base, 1]``. A missing cue scores 0.
  ``base > 0`` keeps every tile drawable by the sampler (its Gumbel-top-k works on ``log p``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from firmware_py.sparse.cores import core_windows
from firmware_py.sparse.edges import EdgeWatch
from firmware_py.sparse.motion import box_blur, frame_difference, to_grey
from firmware_py.sparse.tracks import Tracker
from firmware_py.tiling import TileGrid

if TYPE_CHECKING:
    from firmware_py.sparse.carry import CarryConfig

Reduce = Literal["max", "mean"]
Region = Literal["core", "window"]

class PriorConfig(BaseModel):
    """Weights and knobs of :class:`TilePrior`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    saliency_weight: float = Field(0.8, ge=0.0, le=1.0, description="noisy-OR weight of the "
                                   "pooled saliency map")
    motion_weight: float = Field(0.4, ge=0.0, le=1.0, description="noisy-OR weight of frame "
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
    region: Region = Field("core", description="where a cue counts for a tile: its core (the "
                           "frame split at the middle of every overlap, one tile per point) "
                           "or its whole window")
    motion_align: bool = Field(True, description="shift the previous lores frame onto the "
                               "current one by the global translation (phase correlation) "
                               "before differencing: a panning camera is not motion")
    motion_gain: bool = Field(True, description="scale the previous lores frame by the ratio "
                              "of mean grey before differencing: a light change is not motion")
    track_tolerance: float = Field(0.1, ge=0.0, le=10.0, description="a track's tile runs "
                                   "once its expected position error (its prediction error "
                                   "per frame times the frames unseen) reaches this share of "
                                   "its box's shorter side")
    refresh_frames: int = Field(8, ge=1, le=10_000, description="a track's tile runs at least "
                                "once every this many frames")
    edge_weight: float = Field(0.9, ge=0.0, le=1.0, description="noisy-OR weight of the edge "
                               "cue: full-resolution differencing of the frame's border, where "
                               "objects enter (0 = off)")
    edge_width: int = Field(8, ge=1, le=256, description="depth of the border strips the edge "
                            "cue compares, main-frame pixels")
    edge_threshold: float = Field(24.0, ge=0.0, le=255.0, description="grey levels a border "
                                  "pixel must leave its previous 3x3 neighbourhood's range by")
    explain_motion: bool = Field(True, description="motion inside a live track's box (now and "
                                 "a frame ago) is the track's and lights no tile: its own need "
                                 "decides when it runs")
    track_misses: int = Field(2, ge=1, le=1000, description="a track missed this many times in "
                              "a row where a run tile could see it no longer lights its tile")
    other_views: float = Field(0.5, ge=0.0, le=1.0, description="memory score of the other "
                               "tiles whose windows hold a still track that was reported and "
                               "now scores under the threshold: below the sampler's level, so "
                               "they are what the exploration draw picks (0 = off)")
    still_speed: float = Field(0.3, ge=0.0, le=100.0, description="pixels per frame under "
                               "which a track counts as still (for other_views)")


def regions(grid: TileGrid, region: Region = "window") -> np.ndarray:
    """``(N, 4)`` ``xyxy`` frame-pixel rectangles where cues count for each tile."""
    return core_windows(grid) if region == "core" else grid.windows.astype(np.float64)


def map_windows(grid: TileGrid, map_height: int, map_width: int, region: Region = "window"
                ) -> np.ndarray:
    """``(N, 4)`` int64 ``xyxy`` tile regions in the pixels of an ``map_height`` x
    ``map_width`` map covering the whole frame: scaled per axis, widened to whole pixels,
    clipped to the map, at least one pixel wide and tall."""
    scale = np.array([map_width / grid.width, map_height / grid.height] * 2)
    scaled = regions(grid, region) * scale  # (N, 4) float
    lo = np.floor(scaled[:, :2]).astype(np.int64)
    hi = np.ceil(scaled[:, 2:]).astype(np.int64)
    limit = np.array([map_width, map_height])
    lo = np.clip(lo, 0, limit - 1)
    hi = np.clip(np.maximum(hi, lo + 1), 1, limit)
    return np.concatenate([lo, hi], axis=1)


def pool_map(values: np.ndarray, grid: TileGrid, reduce: Reduce = "max",
             region: Region = "window") -> np.ndarray:
    """``(N,)`` float64: ``values`` (an ``(h, w)`` map over the whole frame) pooled over every
    tile's region."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"expected an (h, w) map, got shape {values.shape}")
    windows = map_windows(grid, *values.shape, region)
    fn = np.max if reduce == "max" else np.mean
    return np.array([fn(values[y0:y1, x0:x1]) for x0, y0, x1, y1 in windows], dtype=np.float64)


def detection_scores(grid: TileGrid, boxes: np.ndarray, scores: np.ndarray,
                     region: Region = "window", tiles: np.ndarray | None = None) -> np.ndarray:
    """``(N,)``: per tile, the highest score of the detections (``xyxy`` frame pixels) whose
    centre lies in its region, or that ``tiles`` (``(K,)``, one tile per detection) credits
    to it when given; 0 for tiles without one."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if tiles is not None:
        out = np.zeros(len(grid))
        np.maximum.at(out, np.asarray(tiles, np.int64).reshape(-1), scores)
        return out
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2  # (K, 2)
    win = regions(grid, region)[:, None, :]  # (N, 1, 4)
    inside = ((centre[None, :, 0] >= win[..., 0]) & (centre[None, :, 0] < win[..., 2])
              & (centre[None, :, 1] >= win[..., 1]) & (centre[None, :, 1] < win[..., 3]))
    return np.where(inside, scores[None, :], 0.0).max(axis=1, initial=0.0)  # (N,)


def unexplained(moved: np.ndarray, explained: np.ndarray, grid: TileGrid) -> None:
    """Clear, in place, the motion mask ``moved`` (lores pixels over ``grid``'s frame) inside
    the ``explained`` boxes (frame pixels), each widened by one lores pixel."""
    h, w = moved.shape
    scale = np.array([w / grid.width, h / grid.height] * 2)
    rects = np.asarray(explained, np.float64).reshape(-1, 4) * scale
    lo = np.clip(np.floor(rects[:, :2]).astype(np.int64) - 1, 0, [w, h])
    hi = np.clip(np.ceil(rects[:, 2:]).astype(np.int64) + 1, 0, [w, h])
    for (x0, y0), (x1, y1) in zip(lo.tolist(), hi.tolist(), strict=True):
        moved[y0:y1, x0:x1] = False


def track_need(tracker: Tracker, frame: int, config: PriorConfig, carry: CarryConfig,
               report: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``((T, 4) predicted boxes, (T,) need in {0, 1}, (E, 4) explained boxes)`` of the tracks
    at ``frame``: 1 where a track needs its tile run (see the module notes); ``report`` is the
    score below which a carried detection is not reported. The explained boxes cover where
    each live track was a frame ago and is now: the motion there is the track's."""
    boxes = tracker.predict(frame)
    unseen = frame - tracker.seen
    side = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    drift = np.nan_to_num(tracker.error, nan=np.inf) * unseen >= config.track_tolerance * side
    fading = tracker.score * carry.decay ** unseen < report
    live = (unseen <= carry.max_age) & (tracker.misses < config.track_misses)
    due = (drift | fading | (unseen >= config.refresh_frames)) & live
    step = np.tile(tracker.velocity[live], 2)  # (E, 4)
    now = boxes[live]
    explained = np.concatenate([np.minimum(now, now - step)[:, :2],
                                np.maximum(now, now - step)[:, 2:]], axis=1)
    return boxes, due.astype(np.float64), explained if config.explain_motion else explained[:0]


def other_views(tracker: Tracker, grid: TileGrid, boxes: np.ndarray, need: np.ndarray,
                config: PriorConfig, report: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extra memory entries ``((E, 4) boxes, (E,) scores, (E,) tiles)``: for each track that
    needs a run (``need``, at its predicted ``boxes``), was reported once, is still (its
    velocity known and under ``still_speed``) and now scores under ``report``, every tile
    whose window holds its box, scored ``other_views`` (see the module notes)."""
    speed = np.hypot(tracker.velocity[:, 0], tracker.velocity[:, 1])
    hover = ((need > 0) & (tracker.peak >= report) & (tracker.score < report)
             & ~np.isnan(tracker.error) & (speed < config.still_speed))
    if not config.other_views or not hover.any():
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    held = boxes[hover][None]  # (1, H, 4)
    window = grid.windows.astype(np.float64)[:, None, :]  # (N, 1, 4)
    inside = ((held[..., :2] >= window[..., :2]) & (held[..., 2:] <= window[..., 2:])).all(-1)
    tile, row = np.nonzero(inside)  # (N, H) -> pairs
    return boxes[hover][row], np.full(len(row), config.other_views), tile.astype(np.int64)


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
        self.edges = EdgeWatch(grid, self.config.edge_width, self.config.edge_threshold)

    def reset(self) -> None:
        """Forget the previous frame (e.g. after the source reconnects)."""
        self._previous = None
        self.edges.reset()

    def motion(self, lores: np.ndarray, explained: np.ndarray | None = None) -> np.ndarray:
        """``(N,)`` in ``{0, 1}``: 1 where the blurred, thresholded difference to the previous
        ``lores`` frame touches the tile's region, outside the ``explained`` boxes (``(E,
        4)`` frame pixels). Stores ``lores`` as the new previous frame."""
        cfg = self.config
        grey = to_grey(lores)
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            return np.zeros(len(self.grid))
        diff = frame_difference(previous, grey, cfg.motion_align, cfg.motion_gain,
                                cfg.motion_threshold)
        moved = box_blur(diff, cfg.motion_blur) > cfg.motion_threshold
        if explained is not None and len(explained):
            unexplained(moved, explained, self.grid)
        return pool_map(moved, self.grid, "max", cfg.region)

    def __call__(self, lores: np.ndarray | None = None, saliency: np.ndarray | None = None,
                 boxes: np.ndarray | None = None, scores: np.ndarray | None = None,
                 explained: np.ndarray | None = None, main: np.ndarray | None = None,
                 tiles: np.ndarray | None = None) -> np.ndarray:
        """``(N,)`` float64 tile probability in ``[base, 1]`` from whichever cues are given:
        the ``lores`` frame (motion) and the ``main`` frame (edges), neither counted inside
        the ``explained`` boxes, a ``saliency`` map, and the last detections ``boxes``
        (``(K, 4)`` frame pixels) with their ``scores``, each credited to its tile in
        ``tiles`` when given (the tracks' views, :func:`~firmware_py.sparse.cores.view_tile`),
        else by the region its centre lies in."""
        cfg, n = self.config, len(self.grid)
        zero = np.zeros(n)
        sal = zero if saliency is None else pool_map(
            np.clip(np.squeeze(np.asarray(saliency, dtype=np.float32)), 0.0, 1.0), self.grid,
            cfg.saliency_pool, cfg.region)
        mot = zero if lores is None else self.motion(lores, explained)
        det = zero if boxes is None or scores is None else detection_scores(
            self.grid, boxes, scores, cfg.region, tiles)
        edge = zero if main is None or not cfg.edge_weight else self.edges(main, explained)
        weights = np.array([cfg.saliency_weight, cfg.motion_weight, cfg.detection_weight,
                            cfg.edge_weight])
        return fuse(np.stack([sal, mot, det, edge]), weights, cfg.base)  # (N,)
