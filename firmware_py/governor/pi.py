"""A PI controller in incremental (velocity) form with output clamping (Åström & Murray,
"Feedback Systems", 1st ed., 2008, Sec. 10.4 integrator windup and Sec. 10.5 implementation,
where the incremental form is given as a way to avoid windup):

    u_n = clamp(u_{n-1} + kp * (e_n - e_{n-1}) + ki * h_n * e_n,  lo_n, hi_n)

The controller's state is its clamped output, so no integral can wind up while the actuator
is saturated: the moment the error changes sign the output moves back. The limits may change
at every step (tracking a measured actuator output: back-calculation, Sec. 10.4, with an
infinitely fast tracking time constant).
"""

from __future__ import annotations


class IncrementalPI:
    """``step(e, h)`` returns the new output; ``at_low``/``at_high`` say where it is clamped."""

    __slots__ = ("kp", "ki", "u", "at_low", "at_high", "_e")

    def __init__(self, kp: float, ki: float, u0: float) -> None:
        if kp < 0 or ki < 0:
            raise ValueError(f"gains must be >= 0, got kp={kp}, ki={ki}")
        self.kp, self.ki, self.u = kp, ki, u0
        self.at_low = self.at_high = False
        self._e: float | None = None

    def step(self, e: float, h: float, lo: float, hi: float) -> float:
        """One control step of length ``h`` seconds on error ``e`` within ``[lo, hi]``."""
        de = 0.0 if self._e is None else e - self._e
        self._e = e
        u = self.u + self.kp * de + self.ki * h * e
        self.at_low, self.at_high = u <= lo, u >= hi
        self.u = min(max(u, lo), hi)
        return self.u
