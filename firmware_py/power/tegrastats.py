"""``tegrastats``: the power rails in the lines of NVIDIA's ``tegrastats`` utility (Jetson
Linux Developer Guide, "tegrastats Utility").

``tegrastats --interval <ms>`` prints one line per interval. Each rail appears as
``NAME current/average``; JetPack 5/6 print milliwatts with units, JetPack 4 without::

    ... VDD_IN 4856mW/4856mW VDD_CPU_GPU_CV 521mW/521mW VDD_SOC 1392mW/1392mW   (Orin)
    ... POM_5V_IN 3140/3208 POM_5V_GPU 0/0 POM_5V_CPU 733/751                      (Nano)

The first number (the instantaneous reading) is used. ``RAM 2448/7620MB`` and the like share
the ``a/b`` shape but end in another unit, so they are not rails. As with the ``ina3221``
sensor, the module input rail (``VDD_IN``/``POM_5V_IN``) is the total: rails are not summed.

The utility runs as a subprocess for the sensor's life; a reader thread parses its lines and
keeps the newest, so ``read`` never blocks on the pipe. Choices where the guide is silent: the
sensor waits ``start_timeout_s`` for a first line when it is made; a reading older than
``stale_intervals`` intervals (the utility hung or exited) is an error, not a stale number.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
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
from firmware_py.power.ina3221 import TOTAL_RAILS

log = logging.getLogger(__name__)

RAIL = re.compile(r"(?<!\S)([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?!\S)")


def parse_rails(line: str) -> dict[str, float]:
    """Rail name -> instantaneous watts, from one ``tegrastats`` line."""
    return {name: int(now) / 1000 for name, now, _ in RAIL.findall(line)}


class TegrastatsConfig(SensorConfig):
    type: Literal["tegrastats"] = "tegrastats"
    binary: str = Field("tegrastats", min_length=1, max_length=4096,
                        description="tegrastats executable, a name on PATH or a path")
    interval_ms: int = Field(500, ge=10, le=60_000, description="tegrastats --interval")
    total_rails: tuple[str, ...] = Field(TOTAL_RAILS, min_length=1, max_length=8,
                                         description="rail names that measure the whole "
                                         "module, first found is reported")
    start_timeout_s: float = Field(5.0, gt=0.0, le=60.0, description="wait for the first "
                                   "line when the sensor starts")
    stale_intervals: float = Field(4.0, ge=1.5, le=1000.0, description="intervals without "
                                   "a new line after which a reading is refused as stale")


@register_sensor
class TegrastatsSensor(PowerSensor):
    key = "tegrastats"
    config_cls = TegrastatsConfig
    config: TegrastatsConfig

    def __init__(self, config: TegrastatsConfig, clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock)
        binary = shutil.which(config.binary)
        if binary is None:
            raise SensorError(f"tegrastats: {config.binary!r} not found or not executable")
        self._latest: tuple[float, dict[str, float]] | None = None
        self._first = threading.Event()
        try:
            self._proc = subprocess.Popen([binary, "--interval", str(config.interval_ms)],
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          text=True, bufsize=1)
        except OSError as e:
            raise SensorError(f"tegrastats: cannot run {binary}: {e}") from e
        self._thread = threading.Thread(target=self._reader, name="tegrastats", daemon=True)
        self._thread.start()
        self._first.wait(config.start_timeout_s)
        if self._latest is None:
            code = self._proc.poll()
            self.close()
            raise SensorError(f"tegrastats: no rail line within {config.start_timeout_s} s"
                              + ("" if code is None else f" (exited with code {code})"))

    def _reader(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            rails = parse_rails(line)
            if not rails:
                log.debug("tegrastats: no rails in %r", line.strip())
                continue
            self._latest = (self.clock(), rails)
            self._first.set()
        self._first.set()  # EOF: wake a waiting constructor

    def read(self) -> PowerSample:
        latest = self._latest
        if latest is None:
            raise SensorError("tegrastats: no reading yet")
        t, rails = latest
        age = self.clock() - t
        if age > self.config.stale_intervals * self.config.interval_ms * 1e-3:
            code = self._proc.poll()
            state = "is running" if code is None else f"exited with code {code}"
            raise SensorError(f"tegrastats: last line {age:.1f} s old ({state})")
        total = [name for name in self.config.total_rails if name in rails]
        if not total:
            raise SensorError(f"tegrastats: none of the total rails "
                              f"{list(self.config.total_rails)} in {sorted(rails)}")
        return PowerSample(t, rails[total[0]], self.key, total[0], False, dict(rails))

    def close(self) -> None:
        proc = self._proc
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._thread.join(timeout=2.0)
        if proc.stdout is not None:
            proc.stdout.close()
