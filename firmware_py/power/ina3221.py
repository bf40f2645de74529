"""``ina3221``: the three-channel INA3221 monitors on NVIDIA Jetson modules.

Two kernel interfaces, tried in this order:

- JetPack 5/6, mainline hwmon driver (kernel doc ``Documentation/hwmon/ina3221.rst``):
  ``/sys/bus/i2c/drivers/ina3221/<bus>-<addr>/hwmon/hwmonN/`` with ``in[1-3]_label`` (the rail
  name from the device tree), ``in[1-3]_input`` (bus voltage, mV) and ``curr[1-3]_input``
  (mA). There is no power file: a rail's power is ``V * I``.
- JetPack 4, NVIDIA's IIO driver ``ina3221x``: ``/sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/
  iio:deviceN/`` with ``rail_name_K`` and ``in_power<K>_input`` (mW).

The module input rail (``VDD_IN`` on Orin/Xavier NX/TX2, ``POM_5V_IN`` on the Nano) already
measures the whole module, so it is reported as is: the other rails are parts of it, and
summing them would count power twice. Choices where the docs are silent: channels without a
label (or labelled ``NC``) are skipped; ``total_rails`` names the candidates for the total,
first found wins, and a board with none of them is an error (set ``total_rails``) rather than
a sum of parts passed off as the board's power.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
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

TOTAL_RAILS = ("VDD_IN", "POM_5V_IN")

Rail = Callable[[], float]  # reads one rail's watts


class Ina3221Config(SensorConfig):
    type: Literal["ina3221"] = "ina3221"
    sysfs_root: str = Field("/sys", min_length=1, max_length=4096,
                            description="sysfs mount point (a fake tree in tests)")
    total_rails: tuple[str, ...] = Field(TOTAL_RAILS, min_length=1, max_length=8,
                                         description="rail names that measure the whole "
                                         "module, first found is reported")


def _hwmon_rails(sysfs_root: str) -> dict[str, Rail]:
    rails: dict[str, Rail] = {}
    pattern = "bus/i2c/drivers/ina3221/*/hwmon/hwmon*"
    for hwmon in sorted(Path(sysfs_root).glob(pattern)):
        for channel in (1, 2, 3):
            label_file = hwmon / f"in{channel}_label"
            if not label_file.is_file() or read_text(label_file) in ("", "NC"):
                continue
            volts, amps = hwmon / f"in{channel}_input", hwmon / f"curr{channel}_input"
            rails[read_text(label_file)] = \
                lambda v=volts, a=amps: read_int(v) * read_int(a) / 1e6  # mV * mA
    return rails


def _iio_rails(sysfs_root: str) -> dict[str, Rail]:
    rails: dict[str, Rail] = {}
    pattern = "bus/i2c/drivers/ina3221x/*/iio:device*"
    for device in sorted(Path(sysfs_root).glob(pattern)):
        for name_file in sorted(device.glob("rail_name_*")):
            channel = re.fullmatch(r"rail_name_(\d+)", name_file.name)
            label = read_text(name_file)
            if channel is None or label in ("", "NC"):
                continue
            power = device / f"in_power{channel[1]}_input"
            rails[label] = lambda p=power: read_int(p) / 1000  # mW
    return rails


@register_sensor
class Ina3221Sensor(PowerSensor):
    key = "ina3221"
    config_cls = Ina3221Config
    config: Ina3221Config

    def __init__(self, config: Ina3221Config, clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock)
        self.rails = _hwmon_rails(config.sysfs_root) or _iio_rails(config.sysfs_root)
        if not self.rails:
            raise SensorError(f"{config.sysfs_root}/bus/i2c/drivers: no ina3221 (hwmon) or "
                              "ina3221x (IIO) rails")
        total = [name for name in config.total_rails if name in self.rails]
        if not total:
            raise SensorError(f"ina3221: none of the total rails {list(config.total_rails)} "
                              f"found; rails are {sorted(self.rails)} (set total_rails)")
        self.total = total[0]

    def read(self) -> PowerSample:
        rails = {name: rail() for name, rail in self.rails.items()}
        return PowerSample(self.clock(), rails[self.total], self.key, self.total, False, rails)
