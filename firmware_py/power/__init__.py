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

Layout: the interface and registry in :mod:`.base`, the profile's ``power`` section in
:mod:`.config`, opening sensors in :mod:`.factory`; this module only re-exports them.
"""

from firmware_py.power.base import (
    SENSOR_TYPES,
    Clock,
    PowerSample,
    PowerSensor,
    SensorConfig,
    SensorError,
    register_sensor,
    sensor_class,
)
from firmware_py.power.config import PowerConfig, power_config_union
from firmware_py.power.factory import create_sensor, detect_sensor, open_board_sensor

__all__ = ["SENSOR_TYPES", "Clock", "PowerConfig", "PowerSample", "PowerSensor", "SensorConfig",
           "SensorError", "create_sensor", "detect_sensor", "open_board_sensor",
           "power_config_union", "register_sensor", "sensor_class"]
