"""The power-budget governor (step 5 of sparse-sampling inference, ``docs/architecture.md``):
it holds the board's measured power at a budget by setting the tile budget ``k`` and the frame
interval.

Control law: a PI controller (:mod:`.pi`, incremental form, so no windup) on the smoothed
power (:mod:`.smoothing`), acting on one variable, the target tile rate ``r`` (tiles run per
second), in the log domain: ``ln r`` moves by ``kp * de + ki * h * e`` with the relative error
``e = (budget - power) / budget``. Choices of ours, where the sources are silent:

- Why a rate, and why its log. Above idle, a board's power is close to affine in the work it
  does per second (tiles and frames), so one rate is the natural actuator; ``r`` spans two
  orders of magnitude (``min_k * min_fps`` to ``max_k * max_fps``), and in the log domain the
  loop gain is ``dynamic power / budget``, so one set of gains suits boards whose costs per
  tile differ by orders of magnitude.
- k first, then the interval. ``r`` maps to ``k = r * T`` at the fastest frame period ``T``
  while that is at least ``min_k``, where ``T`` is the longer of ``1 / max_fps`` and the time
  the board really computes per frame (an EMA of the ``busy_s`` the pipeline passes): a
  compute-bound board that runs below ``max_fps`` keeps its ``k`` instead of trading tiles
  for frames it cannot deliver; below, ``k = min_k`` and the interval
  stretches to ``min_k / r``, never past ``1 / min_fps`` (the fps floor). ``k`` never leaves
  ``[min_k, max_k]``, and ``min_k`` is the sampler's revisit minimum
  (:func:`firmware_py.sparse.min_budget`), so the grid prior is never starved.
- Fractional k. A whole ``k`` changes power in steps too coarse to hold a budget (one tile
  more per frame at 15 fps is 15 tiles/s), so the fractional ``k`` is realised by first-order
  error diffusion over frames (sigma-delta): :meth:`Governor.update` is called once per frame
  and alternates the two neighbouring whole values so that their running mean is the
  fractional one.
- Saturation. On a compute-bound board the frames come slower than the interval asks, and
  lowering ``r`` above the board's real tile rate changes nothing. When the pipeline passes
  ``tiles_run`` (the tiles of each frame), the governor measures the real rate over each
  control step; when it falls short of ``r / (1 + track_headroom)``, ``r`` is pulled down to
  ``(1 + track_headroom)`` times it (tracking anti-windup), so ``r`` never hides in that dead
  zone. A budget that even ``min_k`` tiles at ``min_fps``
  exceed is infeasible: ``r`` stays at its floor and :attr:`Governor.saturated` says so.
- Timing. The control step runs every ``period_s`` (between steps the setpoint holds, apart
  from the dither); the first power reading initialises the smoothing, and the control starts
  at full speed (``max_k`` at ``max_fps``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from firmware_py.governor.pi import IncrementalPI
from firmware_py.governor.smoothing import Ema

if TYPE_CHECKING:
    from firmware_py.sparse import TileSampler


class GovernorConfig(BaseModel):
    """Budget, gains and limits of :class:`Governor` (a board profile's ``governor``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget_w: float = Field(5.0, gt=0.0, le=1000.0, description="power budget, watts "
                            "(--power-budget, or the board profile's)")
    kp: float = Field(0.2, ge=0.0, le=100.0, description="proportional gain: change of ln(tile "
                      "rate) per unit change of the relative power error")
    ki: float = Field(1.5, ge=0.0, le=100.0, description="integral gain, 1/s: change of "
                      "ln(tile rate) per second per unit relative power error")
    smoothing_s: float = Field(0.6, ge=0.0, le=60.0, description="time constant of the EMA "
                               "on the measured power, seconds (0 = none)")
    period_s: float = Field(0.2, gt=0.0, le=60.0, description="seconds between control steps")
    max_fps: float = Field(15.0, gt=0.0, le=1000.0, description="fastest frame rate asked "
                           "for (the camera's, or a cap); k is cut at this rate first")
    min_fps: float = Field(1.0, gt=0.0, le=1000.0, description="frame-rate floor: the interval "
                           "never stretches past 1 / min_fps")
    track_headroom: float = Field(0.2, ge=0.0, le=10.0, description="the target tile rate "
                                  "stays within (1 + this) of the measured one")
    tolerance: float = Field(0.05, ge=0.0, le=1.0, description="relative excess over the "
                             "budget at the floor that counts as saturated (infeasible)")


@dataclass(frozen=True)
class Setpoint:
    """What the pipeline applies for the next frame."""

    budget: int  # tiles this frame: TileSampler.set_budget(budget)
    frame_interval_s: float  # start the next frame this long after this one started


class Governor:
    """Holds the smoothed power at the budget; see the module notes."""

    def __init__(self, config: GovernorConfig, num_tiles: int, min_k: int, max_k: int) -> None:
        if not 1 <= min_k <= max_k:
            raise ValueError(f"need 1 <= min_k <= max_k, got min_k={min_k}, max_k={max_k}")
        if config.min_fps > config.max_fps:
            raise ValueError(f"min_fps {config.min_fps} is above max_fps {config.max_fps}")
        self.config = config
        self.num_tiles = num_tiles
        self.min_k, self.max_k = min_k, min(max_k, num_tiles)
        self.min_k = min(self.min_k, self.max_k)
        self.budget_w = config.budget_w
        self.rate_lo = math.log(self.min_k * config.min_fps)
        self.rate_hi = math.log(self.max_k * config.max_fps)
        self.power = Ema(config.smoothing_s)
        self.busy = Ema(config.smoothing_s)
        self.pi = IncrementalPI(config.kp, config.ki, self.rate_hi)
        self.saturated = False
        self.measured_rate: float | None = None
        self._k, self._interval = self._split(self.rate_hi)
        self._dither = 0.0
        self._last_step: float | None = None
        self._tiles = 0
        self._tracking = False

    @classmethod
    def for_sampler(cls, config: GovernorConfig, sampler: TileSampler,
                    max_k: int | None = None) -> Governor:
        """A governor for ``sampler``: ``min_k`` its revisit minimum, ``max_k`` its budget."""
        from firmware_py.sparse import min_budget

        return cls(config, sampler.num_tiles, min_budget(sampler.num_tiles,
                   sampler.revisit_frames), max_k or sampler.budget)

    def set_budget_w(self, watts: float) -> None:
        """Change the budget at run time (the next control step acts on it)."""
        if not watts > 0:
            raise ValueError(f"power budget must be > 0 W, got {watts}")
        self.budget_w = float(watts)

    @property
    def tile_rate(self) -> float:
        """The target tile rate, tiles per second."""
        return math.exp(self.pi.u)

    def _split(self, log_rate: float) -> tuple[float, float]:
        """``(fractional k, frame interval)`` of a log tile rate: k first, then the interval."""
        rate = math.exp(log_rate)
        fastest = 1.0 / self.config.max_fps
        frame_s = max(fastest, self.busy.value or 0.0)
        if rate * frame_s >= self.min_k:
            return min(rate * frame_s, float(self.max_k)), fastest
        return float(self.min_k), min(self.min_k / rate, 1.0 / self.config.min_fps)

    def update(self, now: float, power_w: float | None, tiles_run: int | None = None,
               busy_s: float | None = None) -> Setpoint:
        """Call once per frame, as it starts, with the latest power reading (None while there
        is none), the tiles the frame that just ended ran (None to go without tracking) and
        the seconds it computed (None: assume the board keeps up with ``max_fps``); returns
        the setpoint of the frame that starts."""
        if tiles_run is not None:
            self._tiles += tiles_run
            self._tracking = True
        if busy_s is not None:
            self.busy.update(now, busy_s)
        if power_w is not None and math.isfinite(power_w):
            self.power.update(now, power_w)
        if self._last_step is None:
            self._last_step = now
        elif now - self._last_step >= self.config.period_s and self.power.value is not None:
            self._control(now - self._last_step)
            self._last_step = now
        return Setpoint(self._next_k(), self._interval)

    def _control(self, h: float) -> None:
        assert self.power.value is not None
        hi = self.rate_hi
        if self._tracking:
            self.measured_rate = self._tiles / h
            self._tiles, self._tracking = 0, False
            reach = math.log(max(self.measured_rate, 1e-9)) + math.log1p(self.config.track_headroom)
            if reach < self.pi.u:  # the board falls short of the rate asked: compute-bound
                hi = max(self.rate_lo, reach)
        error = (self.budget_w - self.power.value) / self.budget_w
        self._k, self._interval = self._split(self.pi.step(error, h, self.rate_lo, hi))
        self.saturated = self.pi.at_low and -error > self.config.tolerance

    def _next_k(self) -> int:
        wanted = self._k + self._dither
        k = min(max(math.floor(wanted + 0.5), self.min_k), self.max_k)
        self._dither = wanted - k
        return k

    def stats(self) -> dict[str, Any]:
        """Gauges for the telemetry (``Telemetry.gauge`` each item)."""
        return {"budget_w": self.budget_w, "governor_power_w": self.power.value,
                "governor_tile_rate": self.tile_rate, "governor_k": self._k,
                "frame_interval_s": self._interval, "governor_saturated": self.saturated}
