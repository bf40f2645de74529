"""ina2xx hwmon sensor on fake ``/sys/class/hwmon`` trees (stand-ins: see standins.py)."""

import pytest

from firmware_py.power import SensorError
from firmware_py.power.ina2xx import Ina2xxConfig, Ina2xxSensor
from firmware_py.power.sysfs import read_int
from tests.firmware_py.power.standins import FakeClock, ina2xx_hwmon, write_attr


def test_power_file_in_microwatts(tmp_path):
    folder = ina2xx_hwmon(tmp_path, chip="ina226")
    sample = Ina2xxSensor(Ina2xxConfig(sysfs_root=str(tmp_path)), clock=FakeClock(7.0)).read()
    assert sample.watts == pytest.approx(read_int(folder / "power1_input") / 1e6)
    assert (sample.source, sample.label, sample.estimated) == ("ina2xx", "ina226", False)
    assert sample.rails == {"ina226": sample.watts} and sample.t_monotonic == 7.0


def test_without_power_file_power_is_bus_volts_times_current(tmp_path):
    ina2xx_hwmon(tmp_path, chip="ina219", bus_mv=5120, curr_ma=430, power_uw=None)
    sample = Ina2xxSensor(Ina2xxConfig(sysfs_root=str(tmp_path))).read()
    assert sample.watts == pytest.approx(5.120 * 0.430)


def test_reads_follow_the_files(tmp_path):
    folder = ina2xx_hwmon(tmp_path)
    sensor = Ina2xxSensor(Ina2xxConfig(sysfs_root=str(tmp_path)))
    first = sensor.read().watts
    write_attr(folder / "power1_input", read_int(folder / "power1_input") * 2)
    assert sensor.read().watts == pytest.approx(2 * first)


def test_picks_the_chip_by_name_folder_or_label_and_skips_other_hwmon(tmp_path):
    write_attr(tmp_path / "class/hwmon/hwmon0/name", "cpu_thermal")
    ina2xx_hwmon(tmp_path, hwmon="hwmon1", chip="ina219", power_uw=1_000_000)
    ina2xx_hwmon(tmp_path, hwmon="hwmon2", chip="ina226", power_uw=2_000_000, label="5V_IN")
    root = str(tmp_path)
    assert Ina2xxSensor(Ina2xxConfig(sysfs_root=root)).read().watts == pytest.approx(1.0)
    for device in ("ina226", "hwmon2", "5V_IN"):
        sample = Ina2xxSensor(Ina2xxConfig(sysfs_root=root, device=device)).read()
        assert sample.watts == pytest.approx(2.0) and sample.label == "5V_IN"


def test_hwmon10_sorts_after_hwmon2(tmp_path):
    ina2xx_hwmon(tmp_path, hwmon="hwmon10", power_uw=10_000_000)
    ina2xx_hwmon(tmp_path, hwmon="hwmon2", power_uw=2_000_000)
    sensor = Ina2xxSensor(Ina2xxConfig(sysfs_root=str(tmp_path)))
    assert sensor.hwmon.name == "hwmon2"


def test_missing_chip_and_unmatched_device_are_named(tmp_path):
    write_attr(tmp_path / "class/hwmon/hwmon0/name", "nvme")
    with pytest.raises(SensorError, match="no INA2xx hwmon device"):
        Ina2xxSensor(Ina2xxConfig(sysfs_root=str(tmp_path)))
    ina2xx_hwmon(tmp_path, hwmon="hwmon1", chip="ina219")
    with pytest.raises(SensorError, match="hwmon1=ina219"):
        Ina2xxSensor(Ina2xxConfig(sysfs_root=str(tmp_path), device="ina226"))


def test_garbage_in_an_attribute_names_the_file(tmp_path):
    folder = ina2xx_hwmon(tmp_path)
    sensor = Ina2xxSensor(Ina2xxConfig(sysfs_root=str(tmp_path)))
    write_attr(folder / "power1_input", "n/a")
    with pytest.raises(SensorError, match="power1_input"):
        sensor.read()
