"""The board profile's ``telemetry`` section: stats windows and periods, and the stats log
(``log_path``; ``specks run --stats-log`` overrides it). Schema only: the profile imports this,
not the emitter that uses it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TelemetryConfig(BaseModel):
    """Telemetry windows, periods and the stats log (a board profile's ``telemetry``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: float = Field(5.0, gt=0.0, le=3600.0, description="window of rates and "
                            "latency statistics, seconds")
    capacity: int = Field(4096, ge=16, le=1_000_000, description="events held per counter "
                          "(bounds memory; more events than this in one window shrink it)")
    period_s: float = Field(1.0, gt=0.0, le=3600.0, description="seconds between stats "
                            "records")
    power_period_s: float = Field(0.2, gt=0.0, le=60.0, description="seconds between power "
                                  "readings (energy is integrated over them)")
    log_path: str = Field("", max_length=4096, description="stats log (.csv for CSV, else "
                          "JSON Lines); empty = no log")
    max_bytes: int = Field(4 * 2**20, ge=1024, le=2**40, description="rotate the log before "
                           "it grows past this many bytes")
    backups: int = Field(5, ge=1, le=1000, description="rotated log parts kept")
    sysfs_root: str = Field("/sys", min_length=1, max_length=4096, description="sysfs mount "
                            "point for thermal zones and cpufreq (a fake tree in tests)")
