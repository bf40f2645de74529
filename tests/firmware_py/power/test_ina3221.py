"""Jetson INA3221 sensor on fake sysfs trees: the JetPack 5/6 hwmon layout and the JetPack 4
IIO ``ina3221x`` layout (stand-ins: see standins.py)."""

import pytest

from firmware_py.power import SensorError
from firmware_py.power.ina3221 import Ina3221Config, Ina3221Sensor
from firmware_py.power.sysfs import read_int, read_text
from tests.firmware_py.power.standins import (
    NANO_RAILS,
    ORIN_RAILS,
    ina3221_hwmon,
    ina3221x_iio,
    write_attr,
)


def test_hwmon_rails_are_volts_times_amps_and_vdd_in_is_not_summed(tmp_path):
    folder = ina3221_hwmon(tmp_path)
    sample = Ina3221Sensor(Ina3221Config(sysfs_root=str(tmp_path))).read()
    assert set(sample.rails) == set(ORIN_RAILS)
    for channel in (1, 2, 3):
        label = read_text(folder / f"in{channel}_label")
        expected = read_int(folder / f"in{channel}_input") * read_int(
            folder / f"curr{channel}_input") / 1e6
        assert sample.rails[label] == pytest.approx(expected)
    assert sample.label == "VDD_IN" and sample.watts == sample.rails["VDD_IN"]
    assert sample.watts < sum(sample.rails.values())
    assert (sample.source, sample.estimated) == ("ina3221", False)


def test_iio_rails_are_milliwatts_and_pom_5v_in_is_the_total(tmp_path):
    folder = ina3221x_iio(tmp_path)
    sample = Ina3221Sensor(Ina3221Config(sysfs_root=str(tmp_path))).read()
    assert set(sample.rails) == set(NANO_RAILS)
    for channel in range(3):
        label = read_text(folder / f"rail_name_{channel}")
        assert sample.rails[label] == pytest.approx(
            read_int(folder / f"in_power{channel}_input") / 1e3)
    assert sample.label == "POM_5V_IN" and sample.watts == sample.rails["POM_5V_IN"]
    assert sample.watts != pytest.approx(sum(sample.rails.values()))


def test_unlabelled_and_nc_channels_are_skipped(tmp_path):
    folder = ina3221_hwmon(tmp_path, {"VDD_IN": (5000, 900), "NC": (0, 0), "VDD_SOC": (5000, 1)})
    (folder / "in3_label").unlink()
    sensor = Ina3221Sensor(Ina3221Config(sysfs_root=str(tmp_path)))
    assert set(sensor.read().rails) == {"VDD_IN"}


def test_two_chips_are_merged_and_total_rails_is_configurable(tmp_path):
    ina3221_hwmon(tmp_path, {"VDD_GPU_SOC": (5000, 800), "VDD_CPU_CV": (5000, 300)},
                  device="1-0040", hwmon="hwmon1")
    ina3221_hwmon(tmp_path, {"VIN_SYS_5V0": (5000, 1500)}, device="1-0041", hwmon="hwmon2")
    with pytest.raises(SensorError, match="VIN_SYS_5V0"):  # the error lists what is there
        Ina3221Sensor(Ina3221Config(sysfs_root=str(tmp_path)))
    sample = Ina3221Sensor(Ina3221Config(sysfs_root=str(tmp_path),
                                         total_rails=("VIN_SYS_5V0",))).read()
    assert len(sample.rails) == 3 and sample.watts == pytest.approx(7.5)


def test_no_driver_and_a_vanished_channel_raise(tmp_path):
    with pytest.raises(SensorError, match="no ina3221"):
        Ina3221Sensor(Ina3221Config(sysfs_root=str(tmp_path)))
    folder = ina3221_hwmon(tmp_path)
    sensor = Ina3221Sensor(Ina3221Config(sysfs_root=str(tmp_path)))
    (folder / "curr1_input").unlink()
    with pytest.raises(SensorError, match="curr1_input"):
        sensor.read()


def test_reads_follow_the_files(tmp_path):
    folder = ina3221_hwmon(tmp_path)
    sensor = Ina3221Sensor(Ina3221Config(sysfs_root=str(tmp_path)))
    before = sensor.read().watts
    write_attr(folder / "curr1_input", 2 * read_int(folder / "curr1_input"))
    assert sensor.read().watts == pytest.approx(2 * before)
