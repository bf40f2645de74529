"""Power sensors: one small interface, one plugin file per way a board reports its power.

Plugins (key -> module), each reading the board's real interface:

- ``ina2xx``: an INA219/INA226/... through the kernel ``ina2xx`` hwmon driver (sysfs);
- ``ina3221``: a Jetson's INA3221 rails, hwmon (JetPack 5/6) or IIO ``ina3221x`` (JetPack 4);
- ``tegrastats``: the rails in the lines of a running ``tegrastats --interval <ms>``;
- ``vcgencmd``: a Raspberry Pi 5's PMIC ADCs through ``vcgencmd pmic_read_adc``;
- ``rapl``: Intel/AMD RAPL package energy through the ``powercap`` sysfs class;
- ``estimate``: CPU utilisation from ``/proc/stat`` times board coefficients, always labelled
  ``estimated``.

``auto`` (:mod:`.auto`) is a config, not a sensor: it tries the sensors in a fixed order and
takes the first that answers. Every other sensor is wrapped by :mod:`.fallback`, so a missing
or failing sensor degrades to the estimate with a warning instead of stopping the pipeline.

Each plugin's pydantic config has ``type: Literal[<key>]`` and the root paths it reads (sysfs
root, binary path), so the tests point them at fake trees and stand-in executables. A sensor
checks that its device is there when it is made (raising :class:`SensorError`), never at
import time.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from firmware_py.plugins import PluginRegistry

if TYPE_CHECKING:
    from firmware_py.board import PowerConfig
    from firmware_py.power.estimate import EstimateConfig

SENSOR_TYPES = ("ina2xx", "ina3221", "tegrastats", "vcgencmd", "rapl", "estimate")

__all__ = ["SENSOR_TYPES", "PowerSample", "PowerSensor", "SensorConfig", "SensorError",
           "create_sensor", "detect_sensor", "open_board_sensor", "power_config_union",
           "register_sensor", "sensor_class"]

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


_PLUGINS: PluginRegistry[type[PowerSensor]] = PluginRegistry(__name__, SENSOR_TYPES, "sensor")
register_sensor = _PLUGINS.register
sensor_class = _PLUGINS.get


def power_config_union() -> Any:
    """Every sensor config plus ``auto``, discriminated by ``type`` (the board's
    ``power.sensor``)."""
    from firmware_py.power.auto import AutoConfig

    configs = tuple(sensor_class(key).config_cls for key in SENSOR_TYPES) + (AutoConfig,)
    return Annotated[Union[configs], Field(discriminator="type")]  # noqa: UP007


def create_sensor(config: SensorConfig | Mapping[str, Any], *,
                  estimate: EstimateConfig | None = None, fallback: bool = True,
                  clock: Clock = time.monotonic) -> PowerSensor:
    """Build a sensor from its config (a model or a mapping with ``type``; ``auto`` detects).

    With ``fallback`` (the default) a sensor that is missing degrades at once, and one that
    fails later degrades on that read, to the CPU estimate made from ``estimate`` (default
    coefficients if None), each time with a warning. Without it, :class:`SensorError` is
    raised."""
    from firmware_py.power.auto import AutoConfig
    from firmware_py.power.estimate import EstimateConfig
    from firmware_py.power.fallback import FallbackSensor, degraded

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


def detect_sensor(config: Any, *, estimate: EstimateConfig | None = None,
                  clock: Clock = time.monotonic) -> PowerSensor:
    """The first sensor of ``auto``'s order that is present, with the estimate behind it; the
    estimate alone (with a warning) when none is. See :mod:`firmware_py.power.auto`."""
    from firmware_py.power.auto import detect

    return detect(config, estimate, clock)


def open_board_sensor(power: PowerConfig, clock: Clock = time.monotonic) -> PowerSensor:
    """The sensor of a board profile's ``power`` section, falling back to its estimate."""
    if power.sensor.type == "estimate":
        return create_sensor(power.estimate, clock=clock)
    return create_sensor(power.sensor, estimate=power.estimate, clock=clock)
