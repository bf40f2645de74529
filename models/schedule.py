"""The learning-rate schedule: linear warm-up, then cosine annealing to zero (Loshchilov and
Hutter, "SGDR", arXiv 1608.03983, without restarts; warm-up after Goyal et al., arXiv
1706.02677, Sec. 2.2), defined on the run's *progress* in ``[0, 1]`` rather than on steps.

Progress is whichever is further along: the steps done out of the planned steps, or the
training time spent out of the time budget (:class:`models.budget.TimeBudget`). So a run cut by
``--max-minutes`` warms up within the same fraction of its time and ends annealed whatever the
machine's speed (a 200-step warm-up on a machine that manages 179 steps in the budget would
otherwise never anneal), and a run without a budget follows its steps exactly.

Choices: the warm-up is ``warmup_steps / total_steps`` of the progress, at most half of it
(Ultralytics caps its warm-up at half of the training the same way, so a short fine-tuning run
with a long recipe warm-up still anneals); the factor of a step is taken at the progress
*after* it, so the first step has a small share of the peak LR (never 0) and the last step 0.
"""

from __future__ import annotations

import math

MAX_WARMUP = 0.5  # of the run's progress


class WarmupCosine:
    """LR factor in ``[0, 1]`` of a progress in ``[0, 1]``."""

    def __init__(self, warmup_steps: int, total_steps: int) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.total = total_steps
        self.warmup = min(MAX_WARMUP, warmup_steps / total_steps)

    def progress(self, steps_done: int, time_fraction: float = 0.0) -> float:
        """Progress after step ``steps_done + 1``, or of the clock if that is further."""
        return min(1.0, max((steps_done + 1) / self.total, time_fraction))

    def __call__(self, progress: float) -> float:
        if progress < self.warmup:
            return progress / self.warmup
        rest = (progress - self.warmup) / max(1e-12, 1.0 - self.warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, rest)))
