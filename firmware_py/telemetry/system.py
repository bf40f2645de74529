"""Board state read from sysfs each reporting period: temperature and CPU frequency.

- Temperature: kernel ``Documentation/driver-api/thermal/sysfs-api.rst``:
  ``/sys/class/thermal/thermal_zone*/temp`` is the zone's temperature in millidegrees Celsius
  and ``type`` names the zone (``cpu-thermal``, ``x86_pkg_temp``, ...).
- CPU frequency: ``Documentation/admin-guide/pm/cpufreq.rst``:
  ``/sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq`` is the current frequency in kHz.

Choices where the docs are silent: the files are found once, when the reader is made (zones
and CPUs do not come and go while the pipeline runs); we report the hottest zone
(``temp_c``, ``temp_zone``) and the mean and highest CPU frequency (``cpu_mhz``,
``cpu_mhz_max``), the figures that show thermal throttling. A file that cannot be read this
time (some zones answer EIO or ENODATA while their sensor sleeps) is left out of this
reading; when none can be read the values are None.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError) as e:
        log.debug("%s: unreadable (%s)", path, e)
        return None


def _index(path: Path, prefix: str) -> int:
    digits = path.name.removeprefix(prefix)
    return int(digits) if digits.isdigit() else 1 << 30


class ThermalZones:
    """The hottest thermal zone under ``<sysfs_root>/class/thermal``."""

    def __init__(self, sysfs_root: str = "/sys") -> None:
        zones = sorted(Path(sysfs_root, "class/thermal").glob("thermal_zone*"),
                       key=lambda p: _index(p, "thermal_zone"))
        self.zones = [(z / "temp", self._type(z)) for z in zones if (z / "temp").is_file()]

    @staticmethod
    def _type(zone: Path) -> str:
        try:
            return (zone / "type").read_text().strip()
        except OSError:
            return zone.name

    def read(self) -> dict[str, Any]:
        """``{"temp_c": hottest, "temp_zone": its type}``; empty if there are no zones."""
        if not self.zones:
            return {}
        readings = [(t, kind) for path, kind in self.zones
                    if (t := _read_int(path)) is not None]
        if not readings:
            return {"temp_c": None, "temp_zone": None}
        millideg, kind = max(readings)
        return {"temp_c": millideg / 1000.0, "temp_zone": kind}


class CpuFrequency:
    """The current frequency of each CPU under ``<sysfs_root>/devices/system/cpu``."""

    def __init__(self, sysfs_root: str = "/sys") -> None:
        cpus = sorted(Path(sysfs_root, "devices/system/cpu").glob("cpu[0-9]*"),
                      key=lambda p: _index(p, "cpu"))
        self.files = [f for c in cpus if (f := c / "cpufreq/scaling_cur_freq").is_file()]

    def read(self) -> dict[str, Any]:
        """``{"cpu_mhz": mean, "cpu_mhz_max": highest}``; empty if there is no cpufreq."""
        if not self.files:
            return {}
        khz = [v for f in self.files if (v := _read_int(f)) is not None]
        if not khz:
            return {"cpu_mhz": None, "cpu_mhz_max": None}
        return {"cpu_mhz": sum(khz) / len(khz) / 1000.0, "cpu_mhz_max": max(khz) / 1000.0}
