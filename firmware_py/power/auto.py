"""``auto``: find the board's power sensor by trying each kind in a fixed order.

1. ``ina3221``: a Jetson's module rails (sysfs, no process to run);
2. ``ina2xx``: an INA219/INA226 wired to the board (a power HAT, a lab rig);
3. ``rapl``: an x86 package's energy counter;
4. ``vcgencmd``: a Raspberry Pi 5's PMIC, tried only when the binary exists;
5. ``estimate``: CPU utilisation times the board's coefficients, with a warning.

The first sensor that opens (its device is there and one read succeeds) is used, wrapped by
:class:`~firmware_py.power.fallback.FallbackSensor` so it degrades to the estimate if it later
fails. NOTE: ``tegrastats`` is not tried: it reports the same INA3221 rails as the sysfs files
but needs a subprocess for the sensor's life; name it in the profile to use it.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any, Literal

from pydantic import Field

from firmware_py.power.base import Clock, PowerSensor, SensorConfig, SensorError, sensor_class
from firmware_py.power.estimate import EstimateConfig, EstimateSensor
from firmware_py.power.fallback import FallbackSensor

log = logging.getLogger(__name__)

ORDER = ("ina3221", "ina2xx", "rapl", "vcgencmd")


class AutoConfig(SensorConfig):
    type: Literal["auto"] = "auto"
    sysfs_root: str = Field("/sys", min_length=1, max_length=4096,
                            description="sysfs mount point for the ina3221, ina2xx and rapl "
                            "probes (a fake tree in tests)")
    vcgencmd: str = Field("vcgencmd", min_length=1, max_length=4096,
                          description="vcgencmd executable, a name on PATH or a path")


def candidates(config: AutoConfig) -> list[SensorConfig]:
    """The sensor configs to try, in order; vcgencmd only where its binary exists."""
    out: list[Any] = [sensor_class(key).config_cls.model_validate(
        {"type": key, "sysfs_root": config.sysfs_root}) for key in ORDER[:3]]
    if shutil.which(config.vcgencmd):
        out.append(sensor_class("vcgencmd").config_cls.model_validate(
            {"type": "vcgencmd", "binary": config.vcgencmd}))
    return out


def detect(config: AutoConfig, estimate: EstimateConfig | None, clock: Clock) -> PowerSensor:
    """The first sensor that opens, with the estimate behind it; else the estimate."""
    fallback = EstimateSensor(estimate or EstimateConfig(), clock=clock)
    reasons = [] if shutil.which(config.vcgencmd) else [f"vcgencmd: no {config.vcgencmd!r}"]
    for candidate in candidates(config):
        key = candidate.type  # type: ignore[attr-defined]
        try:
            sensor = sensor_class(key)(candidate, clock=clock)
        except SensorError as e:
            reasons.append(f"{key}: {e}")
            continue
        log.info("power sensor: %s (auto-detected)", sensor.key)
        return FallbackSensor(sensor, fallback)
    log.warning("no power sensor found; using the CPU estimate (%s)", "; ".join(reasons))
    return fallback
