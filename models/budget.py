"""A wall-clock budget for a run (``--max-minutes``) that holds its final evaluation too.

The budget is split into training time and a *reserve* for what must happen after training
(the final validation and the checkpoint writes). The reserve is an estimate: before training,
from timing the evaluation of one validation image and scaling by the number of tiles; after
each validation, from the time that validation took. Training stops when its share is spent,
and the LR schedule (:mod:`models.schedule`) anneals over that share.

The clock is injected (default ``time.monotonic``), so tests drive the budget with a virtual
clock and never depend on the speed of the machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

Clock = Callable[[], float]

EVAL_MARGIN = 1.25  # an evaluation estimate is scaled by this before it is reserved
SAVE_RESERVE_S = 5.0  # checkpoint writes after the final evaluation
MAX_RESERVE_SHARE = 0.5  # more than this of the budget for the final evaluation is refused


class TimeBudget:
    """``seconds`` of wall clock from construction (``None``: no budget)."""

    def __init__(self, seconds: float | None, clock: Clock = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self.start = clock()
        self.reserve_s = 0.0

    def elapsed(self) -> float:
        return self.clock() - self.start

    def reserve(self, eval_seconds: float) -> None:
        """Hold back time for the final evaluation (``eval_seconds``, as last estimated)."""
        self.reserve_s = EVAL_MARGIN * eval_seconds + SAVE_RESERVE_S

    def check_reserve(self, what: str) -> None:
        """``ValueError`` naming ``what`` if the reserve takes over half of the budget."""
        if self.seconds is not None and self.reserve_s > MAX_RESERVE_SHARE * self.seconds:
            raise ValueError(f"--max-minutes {self.seconds / 60:g} cannot hold {what}: it "
                             f"takes about {self.reserve_s / 60:.1f} min; give more minutes "
                             "or a smaller val split")

    @property
    def train_seconds(self) -> float:
        """Seconds for training: the budget less the reserve (``inf`` without a budget)."""
        return math.inf if self.seconds is None else self.seconds - self.reserve_s

    def train_fraction(self, ahead: float = 0.0) -> float:
        """Share of the training time spent, ``ahead`` seconds from now (0 without a
        budget)."""
        if self.seconds is None:
            return 0.0
        return (self.elapsed() + ahead) / self.train_seconds

    def train_left(self) -> float:
        return self.train_seconds - self.elapsed()

