"""The fallback: a measured sensor with the CPU estimate behind it.

A sensor that fails a read (a rail file vanished, ``tegrastats`` exited, the I2C bus hung)
must not stop the pipeline or starve the governor: the read is answered by the estimate,
labelled ``estimated``, and a warning says why. The measured sensor is tried again every
``retry_s`` seconds and, when it answers, takes over again (logged once). A sensor that is
missing from the start is :func:`degraded`: the estimate alone, with a warning.
"""

from __future__ import annotations

import logging

from firmware_py.power.base import Clock, PowerSample, PowerSensor, SensorError
from firmware_py.power.estimate import EstimateConfig, EstimateSensor

log = logging.getLogger(__name__)

RETRY_S = 30.0


class FallbackSensor(PowerSensor):
    """Reads ``primary``; while it fails, reads ``estimate`` and retries every ``retry_s``."""

    key = "fallback"

    def __init__(self, primary: PowerSensor, estimate: PowerSensor,
                 retry_s: float = RETRY_S) -> None:
        super().__init__(primary.config, primary.clock)
        self.primary, self.estimate, self.retry_s = primary, estimate, retry_s
        self.failed_at: float | None = None  # clock time of the last failure; None = healthy

    @property
    def degraded(self) -> bool:
        return self.failed_at is not None

    def read(self) -> PowerSample:
        now = self.clock()
        if self.failed_at is None or now - self.failed_at >= self.retry_s:
            try:
                sample = self.primary.read()
            except SensorError as e:
                if self.failed_at is None:
                    log.warning("power sensor %r failed (%s); using the CPU estimate, "
                                "retrying every %.0f s", self.primary.key, e, self.retry_s)
                self.failed_at = now
            else:
                if self.failed_at is not None:
                    log.warning("power sensor %r answers again", self.primary.key)
                self.failed_at = None
                return sample
        return self.estimate.read()

    def close(self) -> None:
        self.primary.close()
        self.estimate.close()


def degraded(key: str, error: Exception, estimate: EstimateConfig, clock: Clock) -> PowerSensor:
    """The estimate standing in for a sensor that could not be opened, with a warning."""
    log.warning("power sensor %r unavailable (%s); using the CPU estimate", key, error)
    return EstimateSensor(estimate, clock=clock)
