"""Opening a sensor: from its config (:func:`create_sensor`), by detection (``auto``,
:func:`detect_sensor`), or from a board profile's ``power`` section
(:func:`open_board_sensor`). Every sensor but the estimate is wrapped by
:mod:`.fallback`, so a missing or failing one degrades to the CPU estimate with a warning.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from firmware_py.power.auto import AutoConfig, detect
from firmware_py.power.base import Clock, PowerSensor, SensorConfig, SensorError, sensor_class
from firmware_py.power.config import PowerConfig, power_config_union
from firmware_py.power.estimate import EstimateConfig
from firmware_py.power.fallback import FallbackSensor, degraded


def create_sensor(config: SensorConfig | Mapping[str, Any], *,
                  estimate: EstimateConfig | None = None, fallback: bool = True,
                  clock: Clock = time.monotonic) -> PowerSensor:
    """Build a sensor from its config (a model or a mapping with ``type``; ``auto`` detects).

    With ``fallback`` (the default) a sensor that is missing degrades at once, and one that
    fails later degrades on that read, to the CPU estimate made from ``estimate`` (default
    coefficients if None), each time with a warning. Without it, :class:`SensorError` is
    raised."""
    if isinstance(config, Mapping):
        config = TypeAdapter(power_config_union()).validate_python(dict(config))
    estimate = estimate or EstimateConfig()
    if isinstance(config, AutoConfig):
        return detect_sensor(config, estimate=estimate, clock=clock)
    if not fallback or config.type == "estimate":  # type: ignore[attr-defined]
        return sensor_class(config.type)(config, clock=clock)  # type: ignore[attr-defined]
    try:
        primary = sensor_class(config.type)(config, clock=clock)  # type: ignore[attr-defined]
    except SensorError as e:
        return degraded(config.type, e, estimate, clock)  # type: ignore[attr-defined]
    return FallbackSensor(primary, sensor_class("estimate")(estimate, clock=clock))


def detect_sensor(config: AutoConfig, *, estimate: EstimateConfig | None = None,
                  clock: Clock = time.monotonic) -> PowerSensor:
    """The first sensor of ``auto``'s order that is present, with the estimate behind it; the
    estimate alone (with a warning) when none is. See :mod:`firmware_py.power.auto`."""
    return detect(config, estimate, clock)


def open_board_sensor(power: PowerConfig, clock: Clock = time.monotonic) -> PowerSensor:
    """The sensor of a board profile's ``power`` section, falling back to its estimate."""
    if power.sensor.type == "estimate":
        return create_sensor(power.estimate, clock=clock)
    return create_sensor(power.sensor, estimate=power.estimate, clock=clock)
