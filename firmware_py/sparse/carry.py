"""Detection carry: the interpolation step of sparse-sampling inference (step 4,
``docs/architecture.md``). Stochastic feature sampling (Xie et al., arXiv 2003.08866,
Sec. 3.3) fills unsampled feature positions from sampled neighbours in *space*; at tile scale
the device fills unsampled tiles from the past in *time*: an object tracked in a tile not run
this frame is reported again, moved by its track's velocity, with a confidence that decays
with the frames since it was last detected.

The motion and the choice of what to carry are the tracker's
(:meth:`firmware_py.sparse.tracks.Tracker.carried`: tracks unmatched this frame that no run
tile could have seen, at their predicted boxes, not over a fresh detection). Here: the decay
and expiry settings, and the carried tracks as :class:`FrameDetections` (``interpolated``,
each credited to the tile whose core holds its centre). A carried detection of age ``a``
scores ``score * decay ** a``; it is dropped once that falls below ``min_score`` or ``a``
exceeds ``max_age``.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from firmware_py.sparse.cores import box_tile
from firmware_py.sparse.detections import FrameDetections
from firmware_py.sparse.tracks import Tracker
from firmware_py.tiling import TileGrid


class CarryConfig(BaseModel):
    """Decay and expiry of carried detections."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decay: float = Field(0.8, gt=0.0, le=1.0, description="score factor per frame a carried "
                         "detection ages")
    max_age: int = Field(10, ge=0, le=10_000, description="frames a track is carried without "
                         "a detection before it is no longer reported")
    min_score: float = Field(0.05, ge=0.0, le=1.0, description="carried detections whose "
                             "decayed score falls below this are dropped")


def carry(tracker: Tracker, frame: int, grid: TileGrid, fresh: FrameDetections,
          config: CarryConfig, overlap: float) -> FrameDetections:
    """The tracks to report at ``frame`` without a detection, as interpolated detections:
    those no tile run this frame could have seen (the tracker's last update), not over a
    ``fresh`` detection (IoU above ``overlap``)."""
    kept = tracker.carried(frame, fresh.boxes, config.decay, config.max_age, config.min_score,
                           overlap)
    n = len(kept.scores)
    return FrameDetections(kept.boxes, kept.scores, kept.labels, box_tile(grid, kept.boxes),
                           np.ones(n, bool), kept.ids)
