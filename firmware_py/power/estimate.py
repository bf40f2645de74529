"""``estimate``: the board's power modelled from CPU utilisation, for boards with no sensor
(and as the fallback of every other sensor). Always labelled ``estimated``.

Utilisation comes from ``/proc/stat`` (man 5 proc): the ``cpu`` line holds the time all CPUs
spent in ``user nice system idle iowait irq softirq steal`` (then ``guest guest_nice``, which
are already counted in ``user``/``nice``), in clock ticks; one ``cpuN`` line follows per
online CPU. Between two reads::

    busy_cores = cores * (delta_total - delta_idle - delta_iowait) / delta_total
    watts      = idle_w + per_core_w * busy_cores

a linear model with the board profile's two coefficients (idle watts, watts per fully busy
core above idle). Choices where the sources are silent: iowait counts as idle (the CPU is
not working), and a read before a full clock tick has passed since the last returns the last
sample; the first read waits ``min_interval_s`` after the opening read.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from firmware_py.power.base import (
    Clock,
    PowerSample,
    PowerSensor,
    SensorConfig,
    SensorError,
    register_sensor,
)
from firmware_py.power.sysfs import read_text

LABEL = "estimated"


class EstimateConfig(SensorConfig):
    type: Literal["estimate"] = "estimate"
    idle_w: float = Field(2.0, ge=0.0, le=1000.0, description="board power with every core "
                          "idle, watts")
    per_core_w: float = Field(1.0, ge=0.0, le=200.0, description="extra watts of one fully "
                              "busy core")
    proc_root: str = Field("/proc", min_length=1, max_length=4096,
                           description="procfs mount point (a fake tree in tests)")
    min_interval_s: float = Field(0.1, ge=0.01, le=60.0, description="the first read waits "
                                  "this long after the opening read")


def cpu_times(proc_root: str) -> tuple[int, int, int]:
    """``(total ticks, idle ticks, cores)`` from ``/proc/stat``."""
    path = Path(proc_root, "stat")
    lines = read_text(path).splitlines()
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    fields = lines[0].split() if lines else []
    if not fields or fields[0] != "cpu" or len(fields) < 5 or not cores:
        raise SensorError(f"{path}: no 'cpu' line with per-CPU lines after it")
    try:
        ticks = [int(v) for v in fields[1:9]]  # user .. steal; guest is inside user
    except ValueError:
        raise SensorError(f"{path}: line 1: expected integers, got {lines[0]!r}") from None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return sum(ticks), idle, cores


@register_sensor
class EstimateSensor(PowerSensor):
    key = "estimate"
    config_cls = EstimateConfig
    config: EstimateConfig

    def __init__(self, config: EstimateConfig, clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock)
        self._opened = time.monotonic()
        self._ticks = cpu_times(config.proc_root)
        self._last: PowerSample | None = None

    def watts(self, busy_cores: float) -> float:
        return self.config.idle_w + self.config.per_core_w * busy_cores

    def read(self) -> PowerSample:
        if self._last is None:
            time.sleep(max(0.0, self._opened + self.config.min_interval_s - time.monotonic()))
        total, idle, cores = cpu_times(self.config.proc_root)
        d_total, d_idle = total - self._ticks[0], idle - self._ticks[1]
        if d_total <= 0:
            if self._last is not None:
                return self._last
            d_total, d_idle = 1, 1  # no tick yet: nothing measured as busy
        self._ticks = (total, idle, cores)
        busy_cores = cores * min(max((d_total - d_idle) / d_total, 0.0), 1.0)
        self._last = PowerSample(self.clock(), self.watts(busy_cores), self.key, LABEL, True)
        return self._last
