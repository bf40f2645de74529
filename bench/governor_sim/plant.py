"""A plant simulator: a board running the pipeline, as the governor sees it through a power
sensor. A stand-in for a real board in tests and in ``bench/governor.py``; nothing here runs
on a device.

The model follows the pipeline's duty cycle. A frame runs ``k`` tiles; it is busy for
``frame_s + k * tile_s`` seconds and spends ``frame_j + k * tile_j`` joules above idle; it
lasts ``max(interval, busy)`` (a compute-bound board cannot honour a short interval). Over a
frame of length ``T`` the board draws

    P = idle_w + (frame_j + k * tile_j) / T + leak

where ``leak = leak_frac * H`` stands in for leakage rising with temperature: ``H`` is the
dynamic power low-passed with the thermal time constant ``thermal_s``, a slow disturbance the
governor's integral action must reject. The sensor sees ``P`` through a first-order lag
``lag_s`` (regulator and converter averaging) plus Gaussian noise of ``noise_w`` from a seeded
generator, and the reading is written, after every frame, into a stand-in of the kernel's
``ina2xx`` hwmon device (:class:`~bench.governor_sim.hwmon.FakeHwmon`), which the real
:class:`firmware_py.power.ina2xx.Ina2xxSensor` reads.

The default numbers are illustrative, of the order of a Raspberry Pi 5 running a small int8
detector on 320 px tiles (2.7 W idle, 8 ms and 35 mJ per tile); they are not measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from bench.governor_sim.hwmon import FakeHwmon


class PlantConfig(BaseModel):
    """Costs and dynamics of the simulated board."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    idle_w: float = Field(2.7, ge=0.0, le=500.0, description="power when idle, watts")
    tile_j: float = Field(0.035, ge=0.0, le=100.0, description="energy per tile above idle, J")
    tile_s: float = Field(0.008, gt=0.0, le=10.0, description="compute time per tile, s")
    frame_j: float = Field(0.02, ge=0.0, le=100.0, description="energy per frame above idle "
                           "(capture, prior, decode), J")
    frame_s: float = Field(0.006, ge=0.0, le=10.0, description="compute time per frame, s")
    leak_frac: float = Field(0.1, ge=0.0, le=1.0, description="leakage at thermal steady "
                             "state, as a fraction of the dynamic power")
    thermal_s: float = Field(20.0, gt=0.0, le=3600.0, description="thermal time constant, s")
    lag_s: float = Field(0.2, ge=0.0, le=60.0, description="sensor lag time constant, s")
    noise_w: float = Field(0.1, ge=0.0, le=100.0, description="sensor noise std, watts")
    bus_v: float = Field(5.1, gt=0.0, le=60.0, description="supply voltage, volts")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="seed of the sensor noise")


@dataclass(frozen=True)
class FrameRun:
    """One simulated frame."""

    period_s: float  # how long it lasted
    busy_s: float  # how long it computed
    power_w: float  # the board's mean power over it
    reading_w: float  # what the sensor shows at its end


class Plant:
    """The simulated board; :meth:`run_frame` advances it by one frame."""

    def __init__(self, config: PlantConfig | None = None, hwmon: FakeHwmon | None = None) -> None:
        self.config = config or PlantConfig()
        self.hwmon = hwmon
        self._rng = np.random.default_rng(self.config.seed)
        self._heat = 0.0  # low-passed dynamic power, W
        self._sensed = self.config.idle_w
        if hwmon is not None:
            hwmon.write(self._sensed, self.config.bus_v)

    def busy_s(self, k: int) -> float:
        """Compute time of a frame of ``k`` tiles."""
        return self.config.frame_s + k * self.config.tile_s

    def steady_power(self, k: float, interval_s: float) -> float:
        """Power once the temperature has settled, running ``k`` tiles every ``interval_s``."""
        c = self.config
        period = max(interval_s, c.frame_s + k * c.tile_s)
        return c.idle_w + (c.frame_j + k * c.tile_j) / period * (1.0 + c.leak_frac)

    def run_frame(self, k: int, interval_s: float) -> FrameRun:
        """Run one frame of ``k`` tiles asked to last ``interval_s``; rewrites the sensor."""
        c = self.config
        busy = self.busy_s(k)
        period = max(interval_s, busy)
        dynamic = (c.frame_j + k * c.tile_j) / period
        self._heat += -math.expm1(-period / c.thermal_s) * (dynamic - self._heat)
        power = c.idle_w + dynamic + c.leak_frac * self._heat
        lag = -math.expm1(-period / c.lag_s) if c.lag_s > 0 else 1.0
        self._sensed += lag * (power - self._sensed)
        reading = self._sensed + c.noise_w * float(self._rng.standard_normal())
        if self.hwmon is not None:
            self.hwmon.write(reading, c.bus_v)
        return FrameRun(period, busy, power, reading)
