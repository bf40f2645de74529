"""Exponential moving average with a time constant, for readings taken at uneven times:
``y += (1 - exp(-dt / tau)) * (x - y)``, the exact discretisation of the first-order low-pass
``tau y' = x - y`` for an input held between readings (zero-order hold). ``tau = 0`` passes
the input through; the first reading initialises the output."""

from __future__ import annotations

import math


class Ema:
    """A first-order low-pass over irregular samples."""

    __slots__ = ("tau_s", "value", "_t")

    def __init__(self, tau_s: float) -> None:
        if tau_s < 0:
            raise ValueError(f"time constant must be >= 0, got {tau_s}")
        self.tau_s = tau_s
        self.value: float | None = None
        self._t: float | None = None

    def update(self, now: float, x: float) -> float:
        """Feed ``x`` read at ``now``; returns the smoothed value."""
        if self.value is None or self._t is None or self.tau_s == 0:
            self.value = x
        elif now > self._t:
            self.value += -math.expm1(-(now - self._t) / self.tau_s) * (x - self.value)
        self._t = now if self._t is None else max(self._t, now)
        return self.value
