"""``auto`` detection: the order ina3221 > ina2xx > rapl > vcgencmd > estimate, on fake trees
holding several sensors at once and a stand-in vcgencmd."""

import logging

import pytest

from firmware_py.power import create_sensor, detect_sensor
from firmware_py.power.auto import ORDER, AutoConfig
from firmware_py.power.estimate import EstimateConfig
from firmware_py.power.fallback import FallbackSensor
from tests.firmware_py.power.standins import (
    PMIC_READ_ADC_PI4,
    ina2xx_hwmon,
    ina3221_hwmon,
    proc_stat,
    rapl_zone,
    vcgencmd_standin,
)

IDLE_CPU = [100, 0, 50, 10_000, 20, 0, 5, 0, 0, 0]


def board_with(tmp_path, keys):
    """A fake board carrying the sensors ``keys``; returns (AutoConfig, EstimateConfig)."""
    sysfs = tmp_path / "sys"
    sysfs.mkdir()
    builders = {"ina3221": lambda: ina3221_hwmon(sysfs),
                "ina2xx": lambda: ina2xx_hwmon(sysfs),
                "rapl": lambda: rapl_zone(sysfs, "intel-rapl:0", "package-0", 0),
                "vcgencmd": lambda: vcgencmd_standin(tmp_path / "bin/vcgencmd")}
    for key in keys:
        builders[key]()
    proc_stat(tmp_path / "proc", [IDLE_CPU] * 2)
    return (AutoConfig(sysfs_root=str(sysfs), vcgencmd=str(tmp_path / "bin/vcgencmd")),
            EstimateConfig(proc_root=str(tmp_path / "proc"), min_interval_s=0.01))


@pytest.mark.parametrize("first", range(len(ORDER)))
def test_the_first_present_sensor_in_order_wins(tmp_path, first):
    auto, estimate = board_with(tmp_path, ORDER[first:])
    sensor = detect_sensor(auto, estimate=estimate)
    assert isinstance(sensor, FallbackSensor) and sensor.primary.key == ORDER[first]
    assert sensor.read().source == ORDER[first]


def test_nothing_found_is_the_estimate_with_a_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    auto, estimate = board_with(tmp_path, ())
    sample = detect_sensor(auto, estimate=estimate).read()
    assert sample.estimated and sample.label == "estimated"
    assert "no power sensor found" in caplog.text and "ina3221" in caplog.text


def test_vcgencmd_without_pmic_is_skipped(tmp_path):
    auto, estimate = board_with(tmp_path, ())
    vcgencmd_standin(tmp_path / "bin/vcgencmd", PMIC_READ_ADC_PI4)  # a Pi 4
    assert detect_sensor(auto, estimate=estimate).read().estimated


def test_create_sensor_with_type_auto_detects(tmp_path):
    auto, estimate = board_with(tmp_path, ("rapl",))
    sensor = create_sensor(auto.model_dump(), estimate=estimate)
    assert sensor.primary.key == "rapl"
