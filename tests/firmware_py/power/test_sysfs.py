"""sysfs attribute reads: values as the kernel writes them, failures naming the file."""

import pytest

from firmware_py.power import SensorError
from firmware_py.power.sysfs import read_int, read_text
from tests.firmware_py.power.standins import write_attr


def test_values_with_trailing_newline(tmp_path):
    assert read_int(write_attr(tmp_path / "energy_uj", 262143328850)) == 262143328850
    assert read_text(write_attr(tmp_path / "in1_label", "VDD_IN")) == "VDD_IN"


def test_failures_name_the_attribute(tmp_path):
    with pytest.raises(SensorError, match="curr1_input: cannot read"):
        read_int(tmp_path / "curr1_input")
    (tmp_path / "hwmon0").mkdir()
    with pytest.raises(SensorError, match="hwmon0"):
        read_text(tmp_path / "hwmon0")
    with pytest.raises(SensorError, match="power1_input: expected an integer"):
        read_int(write_attr(tmp_path / "power1_input", "1.5"))
