"""Detection carry: the interpolation step of sparse-sampling inference (step 4,
``docs/architecture.md``). Stochastic feature sampling (Xie et al., arXiv 2003.08866,
Sec. 3.3) fills unsampled feature positions from sampled neighbours in *space*; at tile scale
the device fills unsampled tiles from their own past in *time*: a tile not run this frame
reports its last detections again, with a confidence that decays with their age.

Choices of ours (the paper has no time axis):

- State is per tile: the detections (``xyxy`` in frame pixels) of its last run, and its age,
  the frames since that run. A tile that runs replaces its state, also when it found nothing
  (an empty run clears what it carried).
- A carried detection of age ``a`` scores ``score * decay ** a`` and is flagged
  ``interpolated``; it is dropped once its decayed score falls below ``min_score``, and a
  tile's state expires after ``max_age`` frames without a run.
- Motion shift (constant velocity). When a tile runs again, each new detection is matched to
  one of the tile's previous detections of the same class, greedily by descending IoU, pairs
  with IoU of at least ``match_iou`` only; its velocity is the shift of the box between the
  two runs divided by the frames between them (unmatched detections: 0). A carried detection
  of age ``a`` is shifted by ``a * velocity``. On an object moving at constant speed it keeps
  the carried box on the object (``tests/firmware_py/sparse/test_carry.py`` measures it);
  ``motion=False`` turns it off.
- Carried boxes keep the index of the tile that found them and are not clipped to the frame.
- Overlapping tiles may carry (or one run and one carry) the same object: duplicates across
  tiles are left to the caller's NMS (:func:`firmware_py.nms.nms` or ``merge_nmm``), where
  a fresh detection outranks its decayed copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from firmware_py.decode import Detections
from firmware_py.nms import pairwise_overlap


class CarryConfig(BaseModel):
    """Decay and expiry of :class:`DetectionCarry`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decay: float = Field(0.8, gt=0.0, le=1.0, description="score factor per frame a carried "
                         "detection ages")
    max_age: int = Field(10, ge=0, le=10_000, description="frames a tile's detections are "
                         "carried without a run before they expire")
    min_score: float = Field(0.05, ge=0.0, le=1.0, description="carried detections whose "
                             "decayed score falls below this are dropped")
    motion: bool = Field(True, description="shift carried boxes by a constant velocity measured "
                         "between consecutive runs of their tile")
    match_iou: float = Field(0.3, gt=0.0, le=1.0, description="IoU a new and a previous "
                             "detection of one tile need to be matched for the velocity")


@dataclass(frozen=True)
class FrameDetections:
    """Detections of one frame in frame pixels, in descending score order: fresh ones from the
    tiles run this frame and carried ones (``interpolated``) from the others."""

    boxes: np.ndarray  # (K, 4) float32 xyxy in frame pixels
    scores: np.ndarray  # (K,) float32, decayed for carried detections
    labels: np.ndarray  # (K,) int64
    tiles: np.ndarray  # (K,) int64 tile that found the detection (-1: the full-frame tile)
    interpolated: np.ndarray  # (K,) bool, True for carried detections

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def concat(cls, parts: list[FrameDetections]) -> FrameDetections:
        """All ``parts`` in one, re-sorted by descending score (stable)."""
        fields = {name: np.concatenate([getattr(p, name) for p in parts])
                  for name in ("boxes", "scores", "labels", "tiles", "interpolated")}
        order = np.argsort(-fields["scores"], kind="stable")
        return cls(**{name: value[order] for name, value in fields.items()})

    @classmethod
    def empty(cls) -> FrameDetections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))


@dataclass
class _TileState:
    boxes: np.ndarray  # (K, 4) float32 frame pixels at the last run
    scores: np.ndarray  # (K,) float32 as found
    labels: np.ndarray  # (K,) int64
    velocity: np.ndarray  # (K, 2) float32 pixels per frame
    age: int = 0


def greedy_match(new: np.ndarray, old: np.ndarray, new_labels: np.ndarray,
                 old_labels: np.ndarray, min_iou: float) -> np.ndarray:
    """``(K_new,)`` int64: for each new box, the index of its matched old box (-1 if none);
    same-class pairs, greedy by descending IoU, one-to-one, IoU >= ``min_iou``."""
    iou = pairwise_overlap(new, old)  # (K_new, K_old)
    iou[new_labels[:, None] != old_labels[None, :]] = 0.0
    match = np.full(len(new), -1, dtype=np.int64)
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = divmod(int(flat), iou.shape[1])
        if iou[i, j] < min_iou:
            break
        if match[i] < 0 and j not in match:
            match[i] = j
    return match


class DetectionCarry:
    """Per-tile memory of the last detections. Call :meth:`step` once per frame."""

    def __init__(self, num_tiles: int, config: CarryConfig | None = None) -> None:
        self.num_tiles = num_tiles
        self.config = config or CarryConfig()
        self._states: dict[int, _TileState] = {}

    def reset(self) -> None:
        self._states.clear()

    def _velocity(self, fresh: _TileState, previous: _TileState | None) -> np.ndarray:
        """``(K, 2)`` centre shift per frame of ``fresh``'s detections since ``previous``."""
        velocity = np.zeros((len(fresh.scores), 2), dtype=np.float32)
        if not self.config.motion or previous is None or len(previous.scores) == 0:
            return velocity
        match = greedy_match(fresh.boxes, previous.boxes, fresh.labels, previous.labels,
                             self.config.match_iou)
        hit = match >= 0
        new, old = fresh.boxes[hit], previous.boxes[match[hit]]
        shift = (new[:, :2] + new[:, 2:] - old[:, :2] - old[:, 2:]) / 2  # (H, 2)
        velocity[hit] = shift / previous.age  # previous.age: frames between the two runs
        return velocity

    def step(self, ran: np.ndarray, detections: list[Detections]) -> FrameDetections:
        """Record this frame's runs and return the frame's detections. ``ran`` are the tiles
        run this frame and ``detections[i]`` what tile ``ran[i]`` found, already in frame
        pixels (e.g. through :meth:`~firmware_py.tiling.TileGrid.to_frame`)."""
        ran = np.asarray(ran, dtype=np.int64).reshape(-1)
        if len(ran) != len(detections):
            raise ValueError(f"{len(ran)} tiles ran but {len(detections)} results were given")
        if np.any((ran < 0) | (ran >= self.num_tiles)):
            raise IndexError(f"tile index outside 0..{self.num_tiles - 1}")
        for state in self._states.values():
            state.age += 1
        for tile, found in zip(ran.tolist(), detections, strict=True):
            scores = np.asarray(found.scores, np.float32).reshape(-1)
            state = _TileState(np.asarray(found.boxes, np.float32).reshape(-1, 4), scores,
                               np.asarray(found.labels, np.int64).reshape(-1),
                               np.zeros((len(scores), 2), np.float32))
            state.velocity = self._velocity(state, self._states.get(tile))
            self._states[tile] = state
        self._states = {tile: s for tile, s in self._states.items()
                        if s.age <= self.config.max_age}
        parts = [self._report(tile, state) for tile, state in sorted(self._states.items())]
        return FrameDetections.concat([FrameDetections.empty(), *parts])

    def _report(self, tile: int, state: _TileState) -> FrameDetections:
        scores = (state.scores * self.config.decay ** state.age).astype(np.float32)
        keep = scores >= self.config.min_score if state.age else np.ones(len(scores), bool)
        shift = np.tile(state.velocity * state.age, 2)  # (K, 4)
        return FrameDetections((state.boxes + shift)[keep], scores[keep], state.labels[keep],
                               np.full(int(keep.sum()), tile, np.int64),
                               np.full(int(keep.sum()), state.age > 0))
