"""Per-frame processing: prior -> plan -> crop -> infer -> decode -> merge -> tracks (-> carry).

:class:`FrameProcessor` holds the state that lives across frames for one frame size: the tile
grid, the tile prior (previous lores frame), the sampler (tile ages, seeded noise) and the
tracker (whose tracks feed the prior and carry the objects of tiles not run). A frame of
another size (a camera reconnected at a new resolution) rebuilds that state.

Choices of ours:

- The prior's saliency cue runs the prior bundle on the ``lores`` frame resized (``INTER_AREA``)
  to the bundle's input size, only in sparse mode, on every ``prior.saliency_every``-th frame
  (the map is reused in between: small objects move little between frames, and the prior
  costs several detector tiles); the map covers the whole frame, so the tile prior pools it
  per tile whatever its resolution.
- The prior's memory cue is the tracks (:func:`~firmware_py.sparse.prior.track_need`): each
  at its predicted box, scored by whether it needs a detector run this frame.
- Every mode merges the fresh detections (cut copies, then NMS), then the tracker gives them
  ids; sparse mode adds the carried tracks of the tiles not run
  (:func:`~firmware_py.sparse.carry.carry`), reported at or above the merge's score threshold
  like any detection. There, a copy cut by a run tile's side also defers to the tile across
  that side when a carried track lies in its core (the carry reports the object whole, where
  the cut copy would drag its track).
- Sparse mode decodes tiles down to ``tracks.weak_share`` of the reported threshold: the weak
  detections (merged among themselves, less those over a reported one) start and extend tracks
  but are never reported, as ByteTrack (arXiv 2110.06864, Sec. 3) keeps low-score detections
  for association. An object whose score hovers at the threshold keeps its track, and with it
  the tile runs its track asks for; without, sparse mode lost it where dense mode, running
  every tile, catches every frame it crosses the threshold (1080p few-objects clip, shipped
  nano at 0.46, 90 frames: sparse recall 0.811 without, 0.917 with, dense 0.925). Dense mode
  decodes at the threshold: the weak detections would only cost it time.
- The configured tile budget is raised to :func:`~firmware_py.sparse.min_budget` when the
  grid needs more to keep the revisit guarantee (with a warning): the guarantee wins.
- Sparse mode with a fixed budget of at least the grid's tiles (a 768x576 frame is 6 tiles of
  320 px; a budget of 8) runs every tile every frame: it says so once, when the grid is
  built, and skips the prior while that holds (the governor may lower the budget later).
- Stage times (seconds, ``time.perf_counter``): ``prior``, ``crop``, ``infer`` (runtime calls),
  ``decode``, ``merge`` (cut boxes, NMS, tracks, carry); the caller adds ``capture`` and
  ``sink``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from firmware_py.board import BoardConfig
from firmware_py.nms import max_overlap
from firmware_py.pipeline.merge import merge
from firmware_py.pipeline.model import BundleModel
from firmware_py.sources import Frame
from firmware_py.sparse import (
    FrameDetections,
    FramePlan,
    Mode,
    TilePrior,
    TileSampler,
    Tracker,
    carry,
    min_budget,
    plan_frame,
)
from firmware_py.sparse.cores import box_tile, view_tile
from firmware_py.sparse.prior import other_views, track_need
from firmware_py.tiling import TileGrid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameResult:
    """What one frame produced."""

    frame: Frame
    detections: FrameDetections  # merged, frame pixels, descending score
    plan: FramePlan
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    probability: np.ndarray | None = None  # (T,) the tile prior the sampler drew from (sparse)

    @property
    def tiles_run(self) -> int:
        return len(self.plan)

    @property
    def tiles_total(self) -> int:
        return 1 if self.plan.full_frame else len(self.plan.grid)


def with_deployed_threshold(board: BoardConfig, detector: BundleModel) -> BoardConfig:
    """``board`` whose ``merge.score_threshold`` is set: the profile's, else the bundle's
    (the operating point the exporter chose on validation data)."""
    if board.merge.score_threshold is not None:
        return board
    merge = board.merge.model_copy(update={
        "score_threshold": detector.manifest.decode.score_threshold})
    return board.model_copy(update={"merge": merge})


class FrameProcessor:
    """Runs ``detector`` on one frame at a time in ``mode``; ``prior_model`` (a saliency
    bundle) feeds the sparse prior."""

    def __init__(self, board: BoardConfig, detector: BundleModel, mode: Mode | None = None,
                 prior_model: BundleModel | None = None) -> None:
        self.board = with_deployed_threshold(board, detector)
        self.detector = detector
        self.mode: Mode = mode or board.mode
        self.prior_model = prior_model
        self.grid: TileGrid | None = None
        self.tracker = Tracker(board.tracks)
        share = board.tracks.weak_share if self.mode == "sparse" else 1.0
        self._floor = share * self.board.merge.score_threshold  # decode threshold

    def _reset(self, width: int, height: int) -> None:
        tile_h, tile_w = self.detector.tile_size
        self.grid = grid = TileGrid(width, height, tile_w, tile_h, self.board.tiles.overlap)
        cfg = self.board.sampler
        floor = min_budget(len(grid), cfg.revisit_frames)
        if cfg.budget < floor:
            log.warning("tile budget %d cannot revisit %d tiles every %d frames; using %d",
                        cfg.budget, len(grid), cfg.revisit_frames, floor)
            cfg = cfg.model_copy(update={"budget": floor})
        elif cfg.budget > len(grid) and self.mode == "sparse":
            log.warning("tile budget %d is more than the %d tiles of a %dx%d frame: at most %d "
                        "run per frame", cfg.budget, len(grid), width, height, len(grid))
        self.prior = TilePrior(grid, self.board.prior)
        self.sampler = TileSampler(len(grid), cfg)
        self.tracker.reset()
        self._index = 0  # frames since the grid was built
        self._map: np.ndarray | None = None
        self._frames = 0
        self._tile = np.empty((1, tile_h, tile_w, 3), np.uint8)
        log.info("frame %dx%d: %d tiles of %dx%d (%d x %d), mode %s", width, height, len(grid),
                 tile_w, tile_h, grid.cols, grid.rows, self.mode)
        if self._all_tiles():
            log.info("sparse mode runs as dense: the %dx%d frame has %d tiles and the budget "
                     "is %d, so every tile runs every frame; the tile prior is skipped", width,
                     height, len(grid), cfg.budget)

    def _all_tiles(self) -> bool:
        """Sparse mode whose fixed budget covers the grid: every tile runs anyway."""
        return (self.mode == "sparse" and self.board.sampler.level is None
                and self.sampler.budget >= len(self.grid))

    def _saliency(self, lores: np.ndarray) -> np.ndarray | None:
        if self.prior_model is None:
            return None
        due = self._map is None or self._frames % self.board.prior.saliency_every == 0
        self._frames += 1
        if not due:
            return self._map
        h, w = self.prior_model.tile_size
        if lores.ndim == 2:
            lores = cv2.cvtColor(lores, cv2.COLOR_GRAY2RGB)
        if lores.shape[:2] != (h, w):
            lores = cv2.resize(lores, (w, h), interpolation=cv2.INTER_AREA)
        self._map = self.prior_model.saliency(lores)
        return self._map

    def _probability(self, frame: Frame) -> np.ndarray | None:
        if self.mode != "sparse":
            return None
        if self._all_tiles():
            return np.ones(len(self.grid))
        report = self.board.merge.score_threshold
        boxes, need, explained = track_need(self.tracker, self._index, self.board.prior,
                                            self.board.carry, report)
        views = other_views(self.tracker, self.grid, boxes, need, self.board.prior, report)
        tiles = view_tile(self.grid, boxes, self.tracker.view)
        boxes, need, tiles = (np.concatenate([mine, extra]) for mine, extra
                              in zip((boxes, need, tiles), views, strict=True))
        return self.prior(frame.lores, self._saliency(frame.lores), boxes, need, explained,
                          frame.main, tiles)

    def __call__(self, frame: Frame) -> FrameResult:
        height, width = frame.main.shape[:2]
        if self.grid is None or (self.grid.width, self.grid.height) != (width, height):
            self._reset(width, height)
        times: dict[str, float] = {}
        t = time.perf_counter()
        probability = self._probability(frame)
        t = _lap(times, "prior", t)
        plan = plan_frame(self.mode, self.grid, self.sampler, probability)
        raw = self._infer(plan, frame.main, times)
        t = time.perf_counter()
        decoded = [self.detector.decode(outputs, self._floor) for outputs in raw]
        t = _lap(times, "decode", t)
        detections = self._merge(plan, plan.collect(decoded))
        _lap(times, "merge", t)
        self._index += 1
        return FrameResult(frame, detections, plan, times, probability)

    def _merge(self, plan: FramePlan, found: FrameDetections) -> FrameDetections:
        """Merged fresh detections with their track ids, plus (sparse) the carried tracks."""
        board, report = self.board, self.board.merge.score_threshold
        active = plan.active | self._tracked_tiles()
        fresh = merge(found, self.grid, active, board.merge, board.tiles.cut_margin)
        weak = self._weak(found.select(found.scores < report), fresh, active)
        both = FrameDetections.concat([fresh, weak])  # fresh first: every weak score is lower
        windows = None if plan.full_frame else self.grid.windows[plan.indices]
        ids = self.tracker.update(self._index, both.boxes, both.scores, both.labels, windows,
                                  both.tiles, None if plan.full_frame else plan.indices)
        fresh = fresh.with_tracks(ids[:len(fresh)])
        if self.mode != "sparse":
            return fresh
        config = board.carry.model_copy(update={"min_score": max(board.carry.min_score,
                                                                 report)})
        carried = carry(self.tracker, self._index, self.grid, fresh, config,
                        board.merge.threshold)
        return FrameDetections.concat([fresh, carried])

    def _weak(self, found: FrameDetections, fresh: FrameDetections, active: np.ndarray
              ) -> FrameDetections:
        """The detections below the reported threshold, merged among themselves, less those
        over a reported one (the same object): what feeds the tracks, never reported."""
        config = self.board.merge.model_copy(update={"score_threshold": None})
        weak = merge(found, self.grid, active, config, self.board.tiles.cut_margin)
        if not len(weak) or not len(fresh):
            return weak
        covered = max_overlap(weak.boxes, fresh.boxes, config.metric)
        return weak.select(covered <= config.threshold)

    def _tracked_tiles(self) -> np.ndarray:
        """``(T,)`` bool: the tiles whose core holds a track the carry still reports: a copy
        of its object cut by a run neighbour's side defers to it, as to a tile that ran."""
        mask = np.zeros(len(self.grid), bool)
        if self.mode == "sparse":
            live = self._index - self.tracker.seen <= self.board.carry.max_age
            mask[box_tile(self.grid, self.tracker.predict(self._index)[live])] = True
        return mask

    def _infer(self, plan: FramePlan, main: np.ndarray, times: dict[str, float]
               ) -> list[list[np.ndarray]]:
        """Each input of ``plan`` cut into one reused tile buffer and run: the batch of tiles
        never exists at once (memory stays one tile, whatever the grid)."""
        times["crop"] = times["infer"] = 0.0
        raw = []
        for slot in range(len(plan)):
            t = time.perf_counter()
            tile = plan.crop(main)[0] if plan.full_frame else \
                self.grid.crop(main, plan.indices[slot:slot + 1], self._tile)[0]
            t = _lap(times, "crop", t, add=True)
            raw.append(self.detector.raw(tile))
            _lap(times, "infer", t, add=True)
        return raw


def _lap(times: dict[str, float], stage: str, start: float, add: bool = False) -> float:
    now = time.perf_counter()
    times[stage] = (times[stage] if add else 0.0) + now - start
    return now
