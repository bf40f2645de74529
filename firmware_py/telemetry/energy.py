"""Energy from power readings: the trapezoid rule over the times the readings were taken,
``E += (P_prev + P) / 2 * dt``. Choice where no source applies: times come from the caller's
clock (the pipeline's ``now``), not from the sample's own stamp, so a simulation on a virtual
clock integrates the same way; a reading that failed leaves a gap the next reading bridges
linearly."""

from __future__ import annotations


class EnergyMeter:
    """Joules since the first reading, and the time of the last one."""

    __slots__ = ("joules", "first_t", "last_t", "last_w")

    def __init__(self) -> None:
        self.joules = 0.0
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.last_w: float | None = None

    def add(self, now: float, watts: float) -> None:
        """One reading of ``watts`` taken at ``now`` (readings out of order are ignored)."""
        if self.last_t is not None:
            dt = now - self.last_t
            if dt <= 0:
                return
            assert self.last_w is not None
            self.joules += 0.5 * (self.last_w + watts) * dt
        else:
            self.first_t = now
        self.last_t, self.last_w = now, watts
