"""Sparse-sampling inference on the device (``docs/architecture.md``): per frame, a cheap
tile prior (:mod:`.prior`, its motion cue in :mod:`.motion`), a tile sampler with a budget,
adaptive or fixed, and a revisit guarantee (:mod:`.sampler`), the detector on the sampled
tiles only, tracks with stable ids (:mod:`.tracks`), and the carry of the objects in the
other tiles along their tracks with decaying confidence (:mod:`.carry`). :mod:`.modes`
plans the three modes (dense, sparse, full-frame) with one output format
(:mod:`.detections`). numpy and OpenCV (full-frame resize, motion alignment) only.
"""

from firmware_py.sparse.carry import CarryConfig, carry
from firmware_py.sparse.detections import NO_TRACK, FrameDetections
from firmware_py.sparse.modes import (
    MODES,
    FramePlan,
    Letterbox,
    Mode,
    dense_plan,
    full_frame_plan,
    plan_frame,
    sparse_plan,
)
from firmware_py.sparse.prior import PriorConfig, TilePrior
from firmware_py.sparse.sampler import SamplerConfig, TileSampler, min_budget
from firmware_py.sparse.tracks import Tracker, TrackerConfig

__all__ = [
    "MODES", "NO_TRACK", "CarryConfig", "FrameDetections", "FramePlan", "Letterbox", "Mode",
    "PriorConfig", "SamplerConfig", "TilePrior", "TileSampler", "Tracker", "TrackerConfig",
    "carry", "dense_plan", "full_frame_plan", "min_budget", "plan_frame", "sparse_plan",
]
