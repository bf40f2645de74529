"""The stats emitter (Frigate's ``StatsEmitter``): once per period it builds one flat stats
dict from the :class:`~firmware_py.telemetry.counters.Telemetry`, the power sensor, the
thermal zones and the CPU frequency, publishes it to every sink
(:meth:`firmware_py.sinks.Sink.publish_stats`) and appends it to the
:mod:`~firmware_py.telemetry.statslog`.

The pipeline calls :meth:`TelemetryEmitter.tick` once per frame; it reads the power sensor
every ``power_period_s`` (integrating energy with :mod:`.energy`) and emits every
``period_s``. Power keys of a record:

- ``power_w``: the mean power over the period (energy gained / time between the first and
  last reading), ``power_w_last``: the last reading, ``power_source`` / ``power_label`` /
  ``power_estimated``: what measured it, ``power_<rail>_w``: per-rail watts where known;
- ``energy_j``: joules since the first reading; ``joules_per_frame``: energy gained over the
  period / frames the detector ran on in it (``inference`` counts; None without frames);
- ``t`` (the caller's monotonic clock), ``wall`` (``time.time()``), ``period_s`` (time since
  the previous record), ``frames`` (inference frames in the period).

Every record starts with ``run_id`` and ``seq`` from the emitter's
:class:`~firmware_py.sinks.stamp.RunStamp` (the pipeline numbers its detection messages from
the same one, so ``(run_id, seq)`` is unique over both kinds), and carries the sinks' state,
``mqtt_state`` and ``spool_depth`` (:func:`firmware_py.sinks.sink_status`).

A reading that fails (:class:`OSError`, which the sensors' ``SensorError`` is) is logged once
per failure streak, counted in ``power_errors``, and leaves a gap the next reading bridges.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware_py.sinks import sink_status
from firmware_py.sinks.stamp import RunStamp
from firmware_py.telemetry.config import TelemetryConfig
from firmware_py.telemetry.counters import Telemetry
from firmware_py.telemetry.energy import EnergyMeter
from firmware_py.telemetry.statslog import StatsLog
from firmware_py.telemetry.system import CpuFrequency, ThermalZones

if TYPE_CHECKING:
    from firmware_py.power.base import PowerSample, PowerSensor
    from firmware_py.sinks import Sink

log = logging.getLogger(__name__)


def _key(name: str) -> str:
    """A rail name as part of a field name: ``"VDD_CPU GPU"`` -> ``"vdd_cpu_gpu"``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "rail"


class TelemetryEmitter:
    """Builds, publishes and logs one stats record per period; see the module notes."""

    def __init__(self, telemetry: Telemetry, sinks: Iterable[Sink], log_path: str | Path | None,
                 period_s: float = 1.0, power_sensor: PowerSensor | None = None, *,
                 power_period_s: float = 0.2, max_bytes: int = 4 * 2**20, backups: int = 5,
                 sysfs_root: str = "/sys", stamp: RunStamp | None = None) -> None:
        if period_s <= 0 or power_period_s <= 0:
            raise ValueError(f"periods must be > 0, got {period_s}, {power_period_s}")
        self.telemetry = telemetry
        self.stamp = stamp or RunStamp()
        self.sinks = list(sinks)
        self.period_s, self.power_period_s = period_s, power_period_s
        self.power_sensor = power_sensor
        self.log = StatsLog(log_path, max_bytes, backups) if log_path else None
        self.thermal = ThermalZones(sysfs_root)
        self.cpufreq = CpuFrequency(sysfs_root)
        self.energy = EnergyMeter()
        self.last_power: PowerSample | None = None
        self.power_errors = 0
        self._failing = False
        self._next_power: float | None = None
        self._last_emit: float | None = None
        self._last_energy = (0.0, None)  # (joules, time of the last reading) at the last emit
        self._last_frames = 0

    @classmethod
    def from_config(cls, config: TelemetryConfig, sinks: Iterable[Sink],
                    power_sensor: PowerSensor | None = None) -> TelemetryEmitter:
        """A :class:`Telemetry` and its emitter, both from ``config``."""
        return cls(Telemetry(config.window_s, config.capacity), sinks, config.log_path or None,
                   config.period_s, power_sensor, power_period_s=config.power_period_s,
                   max_bytes=config.max_bytes, backups=config.backups,
                   sysfs_root=config.sysfs_root)

    @property
    def power_w(self) -> float | None:
        """The last power reading in watts (the governor's input), or None."""
        return self.last_power.watts if self.last_power else None

    def tick(self, now: float | None = None) -> dict[str, Any] | None:
        """Call once per frame: reads power when due, and returns the record when one was
        emitted (else None)."""
        now = time.monotonic() if now is None else now
        if self._last_emit is None:
            self._last_emit = now
        if self.power_sensor is not None and (self._next_power is None or now >= self._next_power):
            self._next_power = now + self.power_period_s
            self.read_power(now)
        if now - self._last_emit >= self.period_s:
            return self.emit(now)
        return None

    def read_power(self, now: float) -> PowerSample | None:
        """Read the sensor once and integrate; None when the reading failed."""
        assert self.power_sensor is not None
        try:
            sample = self.power_sensor.read()
        except OSError as e:
            self.power_errors += 1
            if not self._failing:
                log.warning("power reading failed: %s", e)
            self._failing = True
            return None
        self._failing = False
        if not math.isfinite(sample.watts):
            self.power_errors += 1
            return None
        self.last_power = sample
        self.energy.add(now, sample.watts)
        return sample

    def build(self, now: float) -> dict[str, Any]:
        """One stats record at ``now`` (advances the period's baselines)."""
        stats: dict[str, Any] = {"run_id": self.stamp.run_id, "seq": self.stamp.next(),
                                 "t": now, "wall": time.time(),
                                 "period_s": now - (self._last_emit if self._last_emit
                                                    is not None else now)}
        stats.update(self.telemetry.snapshot(now))
        stats.update(sink_status(self.sinks))
        frames = self.telemetry.total("inference")
        stats["frames"] = frames - self._last_frames
        self._last_frames = frames
        stats.update(self._power_stats(stats["frames"]))
        stats.update(self.thermal.read())
        stats.update(self.cpufreq.read())
        return stats

    def _power_stats(self, frames: int) -> dict[str, Any]:
        if self.power_sensor is None:
            return {}
        joules, t0 = self._last_energy
        t0 = self.energy.first_t if t0 is None else t0
        gained = self.energy.joules - joules
        t1 = self.energy.last_t
        mean = gained / (t1 - t0) if t0 is not None and t1 is not None and t1 > t0 else None
        self._last_energy = (self.energy.joules, t1)
        out: dict[str, Any] = {"power_w": mean, "energy_j": self.energy.joules,
                               "joules_per_frame": gained / frames if frames and t0 is not None
                               else None, "power_errors": self.power_errors}
        sample = self.last_power
        if sample is not None:
            out.update({"power_w_last": sample.watts, "power_source": sample.source,
                        "power_label": sample.label, "power_estimated": sample.estimated})
            out.update({f"power_{_key(rail)}_w": w for rail, w in sample.rails.items()})
        return out

    def emit(self, now: float) -> dict[str, Any]:
        """Build the record now, publish it to the sinks and append it to the log."""
        stats = self.build(now)
        self._last_emit = now
        for sink in self.sinks:
            try:
                sink.publish_stats(stats)
            except Exception:  # one broken output never stops the others or the pipeline
                log.exception("sink %s failed to take stats; continuing", type(sink).__name__)
        if self.log is not None:
            self.log.write(stats)
        return stats

    def close(self) -> None:
        """Close the log (the sinks belong to the caller)."""
        if self.log is not None:
            self.log.close()
