"""``vcgencmd``: the Raspberry Pi 5's PMIC ADCs through ``vcgencmd pmic_read_adc``
(Raspberry Pi documentation, "vcgencmd"; the Pi 5's DA9091 PMIC measures its own rails).

The command prints one line per ADC channel, a current and a voltage per rail, each with its
own channel number in brackets::

      VDD_CORE_A current(7)=0.75012000A
      VDD_CORE_V volt(15)=0.86173300V
         EXT5V_V volt(24)=5.16092000V

Lines are paired by rail name (``VDD_CORE``), never by channel number, and a rail's power is
``V * A``. ``EXT5V`` (the 5 V input) and ``BATT`` have a voltage and no current, so the input
power is not measured: the reported watts are the sum of the PMIC's output rails, labelled
``PMIC rails``. NOTE: that sum leaves out the PMIC's own losses and whatever is powered from
5 V directly (USB, fan, HATs), so it reads below a wall meter; treat it as a relative figure.

Each reading spawns a process (tens of milliseconds on a Pi 5), so readings are cached for
``min_interval_s`` (at least 100 ms, i.e. at most 10 spawns a second).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
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

LINE = re.compile(r"^\s*(\S+)_([AV]) (?:current|volt)\((\d+)\)=([-+0-9.eE]+)[AV]\s*$")
LABEL = "PMIC rails"


def parse_pmic(text: str) -> dict[str, float]:
    """Rail name -> watts, for every rail that has both a current and a voltage line."""
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            rail, unit, _, value = match.groups()
            (amps if unit == "A" else volts)[rail] = float(value)
    return {rail: amps[rail] * volts[rail] for rail in amps if rail in volts}


class VcgencmdConfig(SensorConfig):
    type: Literal["vcgencmd"] = "vcgencmd"
    binary: str = Field("vcgencmd", min_length=1, max_length=4096,
                        description="vcgencmd executable, a name on PATH or a path")
    min_interval_s: float = Field(0.1, ge=0.1, le=60.0, description="a reading is reused "
                                  "for this long (each one spawns a process)")
    timeout_s: float = Field(2.0, gt=0.0, le=30.0, description="longest wait for vcgencmd")


@register_sensor
class VcgencmdSensor(PowerSensor):
    key = "vcgencmd"
    config_cls = VcgencmdConfig
    config: VcgencmdConfig

    def __init__(self, config: VcgencmdConfig, clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock)
        binary = shutil.which(config.binary)
        if binary is None:
            raise SensorError(f"vcgencmd: {config.binary!r} not found or not executable")
        self.binary = binary
        self._last: PowerSample | None = None
        self.read()  # a Pi before the 5 has vcgencmd but no PMIC ADC: fail now, not later

    def read(self) -> PowerSample:
        now = self.clock()
        if self._last is not None and now - self._last.t_monotonic < self.config.min_interval_s:
            return self._last
        rails = parse_pmic(self._run())
        if not rails:
            raise SensorError(f"vcgencmd pmic_read_adc: no rail with both a current and a "
                              f"voltage in the output of {self.binary}")
        self._last = PowerSample(now, sum(rails.values()), self.key, LABEL, False, rails)
        return self._last

    def _run(self) -> str:
        try:
            done = subprocess.run([self.binary, "pmic_read_adc"], capture_output=True,
                                  text=True, timeout=self.config.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SensorError(f"vcgencmd pmic_read_adc: {e}") from e
        if done.returncode != 0:
            raise SensorError(f"vcgencmd pmic_read_adc exited with code {done.returncode}: "
                              f"{done.stderr.strip() or done.stdout.strip()}")
        return done.stdout
