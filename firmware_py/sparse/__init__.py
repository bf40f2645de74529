"""Sparse-sampling inference on the device (``docs/architecture.md``): per frame, a cheap
tile prior (:mod:`.prior`), a budgeted tile sampler with a revisit guarantee (:mod:`.sampler`),
the detector on the sampled tiles only, and the carry of the other tiles' last detections
with decaying confidence (:mod:`.carry`). :mod:`.modes` plans the three modes (dense, sparse,
full-frame) with one output format. numpy (and OpenCV for the full-frame resize) only.
"""

from firmware_py.sparse.carry import CarryConfig, DetectionCarry, FrameDetections
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

__all__ = [
    "MODES", "CarryConfig", "DetectionCarry", "FrameDetections", "FramePlan", "Letterbox",
    "Mode", "PriorConfig", "SamplerConfig", "TilePrior", "TileSampler", "dense_plan",
    "full_frame_plan", "min_budget", "plan_frame", "sparse_plan",
]
