"""The power sensor interface: what a reading is (:class:`PowerSample`), what a sensor does
(:class:`PowerSensor`), the base of every plugin's config (:class:`SensorConfig`), the one
error a sensor raises (:class:`SensorError`) and the plugin registry (one module per key,
imported on first use; see :mod:`firmware_py.plugins`).

Schema and interface only: nothing here opens a sensor, and nothing imports the board
profile, so :mod:`firmware_py.power.config` (the profile's ``power`` section) and the plugins
build on it without an import cycle.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from firmware_py.plugins import PluginRegistry

SENSOR_TYPES = ("ina2xx", "ina3221", "tegrastats", "vcgencmd", "rapl", "estimate")

Clock = Callable[[], float]


class SensorError(OSError):
    """A sensor is absent, unreadable, or returned something that is not a reading."""


class SensorConfig(BaseModel):
    """Base of every sensor config; a plugin adds ``type: Literal[<key>]`` and its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class PowerSample:
    """One power reading."""

    t_monotonic: float  # time.monotonic() when it was read
    watts: float  # the board's power as this sensor sees it (see ``label``)
    source: str  # plugin key: "ina3221", "vcgencmd", "estimate", ...
    label: str  # what ``watts`` is: "VDD_IN", "PMIC rails", "package-0", "estimated", ...
    estimated: bool  # True when modelled from CPU load rather than measured
    rails: dict[str, float] = field(default_factory=dict)  # per-rail watts, where known


class PowerSensor(ABC):
    """Reads the board's power. ``read`` raises :class:`SensorError` when it cannot."""

    key: ClassVar[str]
    config_cls: ClassVar[type[SensorConfig]]

    def __init__(self, config: SensorConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.clock = clock

    @abstractmethod
    def read(self) -> PowerSample:
        """The current reading."""

    def close(self) -> None:
        """Release what the sensor holds (a subprocess); safe to call twice."""
        return None

    def __enter__(self) -> PowerSensor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_PLUGINS: PluginRegistry[type[PowerSensor]] = PluginRegistry("firmware_py.power", SENSOR_TYPES,
                                                             "sensor")
register_sensor = _PLUGINS.register
sensor_class = _PLUGINS.get
