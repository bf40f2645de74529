"""One frame's detections in frame pixels, the format every mode and every later step shares:
fresh ones from the tiles run this frame, and carried ones (``interpolated``) reported for
tiles not run, each with the track id the tracker gave it (-1 before tracking)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

NO_TRACK = -1


@dataclass(frozen=True)
class FrameDetections:
    """Detections of one frame in frame pixels, in descending score order."""

    boxes: np.ndarray  # (K, 4) float32 xyxy in frame pixels
    scores: np.ndarray  # (K,) float32, decayed for carried detections
    labels: np.ndarray  # (K,) int64
    tiles: np.ndarray  # (K,) int64 tile that found the detection (-1: the full-frame tile)
    interpolated: np.ndarray  # (K,) bool, True for carried detections
    tracks: np.ndarray | None = None  # (K,) int64 track ids; None = NO_TRACK for all

    def __post_init__(self) -> None:
        if self.tracks is None:
            object.__setattr__(self, "tracks", np.full(len(self.scores), NO_TRACK, np.int64))

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, keep: np.ndarray) -> FrameDetections:
        """The detections at ``keep`` (a mask or indices), in that order."""
        return FrameDetections(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})

    def with_tracks(self, tracks: np.ndarray) -> FrameDetections:
        return FrameDetections(self.boxes, self.scores, self.labels, self.tiles,
                               self.interpolated, np.asarray(tracks, np.int64).reshape(-1))

    @classmethod
    def concat(cls, parts: list[FrameDetections]) -> FrameDetections:
        """All ``parts`` in one, re-sorted by descending score (stable)."""
        merged = {f.name: np.concatenate([getattr(p, f.name) for p in parts])
                  for f in fields(cls)}
        order = np.argsort(-merged["scores"], kind="stable")
        return cls(**{name: value[order] for name, value in merged.items()})

    @classmethod
    def empty(cls) -> FrameDetections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))
