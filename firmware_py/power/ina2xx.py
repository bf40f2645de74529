"""``ina2xx``: a TI INA219/INA226 (or a sibling) through the kernel ``ina2xx`` hwmon driver.

Kernel doc ``Documentation/hwmon/ina2xx.rst`` and ``sysfs-interface.rst``: the driver makes a
``/sys/class/hwmon/hwmonN`` whose ``name`` is the chip prefix (``ina219``, ``ina226``, ...) and
whose attributes are integers in fixed units::

    in1_input     bus voltage       mV
    curr1_input   current           mA
    power1_input  power             uW

Power is ``power1_input`` when the file is there, else ``in1_input * curr1_input``. Choices
where the doc is silent: several INA chips are told apart by ``device`` (the chip name, the
``hwmonN`` folder, or the hwmon ``label`` a device tree may set); without it the first INA
chip by hwmon number is used, and the sample is labelled with the ``label`` file or the chip
name.
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
from firmware_py.power.sysfs import read_int, read_text

CHIPS = ("ina219", "ina220", "ina226", "ina230", "ina231", "ina234", "ina260", "sy24655")


class Ina2xxConfig(SensorConfig):
    type: Literal["ina2xx"] = "ina2xx"
    sysfs_root: str = Field("/sys", min_length=1, max_length=4096,
                            description="sysfs mount point (a fake tree in tests)")
    device: str = Field("", max_length=64, description="chip name (ina226), hwmon folder "
                        "(hwmon2) or hwmon label; empty = the first INA2xx chip found")


def _number(path: Path) -> int:
    digits = path.name.removeprefix("hwmon")
    return int(digits) if digits.isdigit() else 1 << 30


def find_ina2xx(sysfs_root: str, device: str = "") -> tuple[Path, str]:
    """``(hwmon folder, label)`` of the chosen INA chip, or :class:`SensorError`."""
    found = []
    for hwmon in sorted(Path(sysfs_root, "class/hwmon").glob("hwmon*"), key=_number):
        name_file = hwmon / "name"
        if not name_file.is_file():
            continue
        name = read_text(name_file)
        if name not in CHIPS:
            continue
        label = read_text(hwmon / "label") if (hwmon / "label").is_file() else name
        found.append(f"{hwmon.name}={name}")
        if not device or device in (name, hwmon.name, label):
            return hwmon, label
    where = Path(sysfs_root, "class/hwmon")
    if found:
        raise SensorError(f"{where}: no INA2xx chip matches device {device!r}; found "
                          f"{', '.join(found)}")
    raise SensorError(f"{where}: no INA2xx hwmon device (kernel driver ina2xx not bound)")


@register_sensor
class Ina2xxSensor(PowerSensor):
    key = "ina2xx"
    config_cls = Ina2xxConfig
    config: Ina2xxConfig

    def __init__(self, config: Ina2xxConfig, clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock)
        self.hwmon, self.label = find_ina2xx(config.sysfs_root, config.device)

    def read(self) -> PowerSample:
        power_file = self.hwmon / "power1_input"
        if power_file.is_file():
            watts = read_int(power_file) / 1e6  # uW
        else:
            watts = read_int(self.hwmon / "in1_input") * read_int(self.hwmon / "curr1_input") \
                / 1e6  # mV * mA
        return PowerSample(self.clock(), watts, self.key, self.label, False,
                           {self.label: watts})
