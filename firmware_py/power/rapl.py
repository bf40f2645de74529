"""``rapl``: Intel RAPL (and AMD's, through the same driver) package energy via the kernel's
powercap class (kernel doc ``Documentation/power/powercap/powercap.rst``).

Each zone is a folder ``/sys/class/powercap/intel-rapl:N`` (sub-zones ``intel-rapl:N:M``)
with ``name`` (``package-0``, ``core``, ``dram``, ``psys``), ``energy_uj`` (a counter in
microjoules) and ``max_energy_range_uj`` (the counter's range, after which it wraps to 0).
Power is the energy difference over the monotonic time between two reads, summed over the
package zones (``intel-rapl:N`` named ``package-*``). The sub-zones (core, uncore, dram) are
parts of a package or outside it, and ``psys`` (platform) already contains the packages, so
none of them is added. A counter lower than its last value has wrapped once: the difference
is ``now + range - last``.

Since Linux 5.10 ``energy_uj`` is readable by root only (the PLATYPUS side channel,
CVE-2020-8694); the error says so. Choices where the doc is silent: two reads closer than
``min_interval_s`` return the last sample (a tiny interval gives a noisy power), and the
first read waits out that interval after the sensor's opening read.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
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
from firmware_py.power.sysfs import read_int, read_text

ZONE = re.compile(r"intel-rapl:\d+")


class RaplConfig(SensorConfig):
    type: Literal["rapl"] = "rapl"
    sysfs_root: str = Field("/sys", min_length=1, max_length=4096,
                            description="sysfs mount point (a fake tree in tests)")
    min_interval_s: float = Field(0.1, ge=0.001, le=60.0, description="shortest interval "
                                  "a power is computed over; closer reads reuse the last")


@dataclass(frozen=True)
class Zone:
    name: str
    energy: Path
    range_uj: int


def package_zones(sysfs_root: str) -> list[Zone]:
    """The top-level ``package-*`` zones, or :class:`SensorError`."""
    base = Path(sysfs_root, "class/powercap")
    zones = []
    for folder in sorted(base.glob("intel-rapl:*")):
        if not ZONE.fullmatch(folder.name) or not (folder / "name").is_file():
            continue
        name = read_text(folder / "name")
        if name.startswith("package"):
            zones.append(Zone(name, folder / "energy_uj",
                              read_int(folder / "max_energy_range_uj")))
    if not zones:
        raise SensorError(f"{base}: no RAPL package zone (intel_rapl driver not loaded, or "
                          "not an Intel/AMD x86 CPU)")
    return zones


def energy_delta(now_uj: int, last_uj: int, range_uj: int) -> int:
    """Microjoules between two counter values, across at most one wrap."""
    delta = now_uj - last_uj
    return delta + range_uj if delta < 0 else delta


@register_sensor
class RaplSensor(PowerSensor):
    key = "rapl"
    config_cls = RaplConfig
    config: RaplConfig

    def __init__(self, config: RaplConfig, clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock)
        self.zones = package_zones(config.sysfs_root)
        self.label = "+".join(zone.name for zone in self.zones)
        self._t, self._energies = self._sample()
        self._last: PowerSample | None = None

    def _sample(self) -> tuple[float, list[int]]:
        return self.clock(), [read_int(zone.energy) for zone in self.zones]

    def read(self) -> PowerSample:
        t, energies = self._sample()
        if t - self._t < self.config.min_interval_s:
            if self._last is not None:
                return self._last
            time.sleep(self.config.min_interval_s - (t - self._t))
            t, energies = self._sample()
        dt = t - self._t
        if dt <= 0:
            raise SensorError("rapl: the clock did not advance between two reads")
        rails = {zone.name: energy_delta(now, last, zone.range_uj) * 1e-6 / dt
                 for zone, now, last in zip(self.zones, energies, self._energies, strict=True)}
        self._t, self._energies = t, energies
        self._last = PowerSample(t, sum(rails.values()), self.key, self.label, False, rails)
        return self._last
