"""Power and FPS telemetry: named counters over a monotonic window (:mod:`.counters`), one
emitter that publishes a stats record per period to the sinks and a rotated log
(:mod:`.emitter`, :mod:`.statslog`); the profile's ``telemetry`` section is :mod:`.config`.
``specks report`` over that log is a host command (:mod:`export.report`)."""

from firmware_py.telemetry.config import TelemetryConfig
from firmware_py.telemetry.counters import COUNTERS, STAGES, Telemetry, stage_name
from firmware_py.telemetry.emitter import TelemetryEmitter
from firmware_py.telemetry.statslog import StatsLog, StatsLogError, read_stats

__all__ = ["COUNTERS", "STAGES", "StatsLog", "StatsLogError", "Telemetry", "TelemetryConfig",
           "TelemetryEmitter", "read_stats", "stage_name"]
