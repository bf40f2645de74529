"""Raspberry Pi 5 PMIC sensor, driven by a stand-in ``vcgencmd`` that prints the recorded
``pmic_read_adc`` listing (see standins.py)."""

import random
import re

import pytest

from firmware_py.power import SensorError
from firmware_py.power.vcgencmd import VcgencmdConfig, VcgencmdSensor, parse_pmic
from tests.firmware_py.power.standins import (
    PI5_CURRENT_RAILS,
    PMIC_READ_ADC_PI4,
    PMIC_READ_ADC_PI5,
    FakeClock,
    calls,
    on_path,
    vcgencmd_standin,
)


def reading(text: str, rail: str, unit: str) -> float:
    """A rail's value, found by hand: the line that starts with ``<rail>_<unit> ``."""
    line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"{rail}_{unit} "))
    return float(line.split("=")[1].rstrip(unit))


def test_rails_are_paired_by_name_not_by_channel_number():
    rails = parse_pmic(PMIC_READ_ADC_PI5)
    assert set(rails) == set(PI5_CURRENT_RAILS)  # EXT5V and BATT have no current
    for rail in PI5_CURRENT_RAILS:
        expected = reading(PMIC_READ_ADC_PI5, rail, "A") * reading(PMIC_READ_ADC_PI5, rail, "V")
        assert rails[rail] == pytest.approx(expected)
    numbers = re.findall(r"VDD_CORE_[AV] \w+\((\d+)\)", PMIC_READ_ADC_PI5)
    assert len(set(numbers)) == 2  # the two lines of one rail carry different channels


def test_pairing_does_not_depend_on_line_order():
    lines = PMIC_READ_ADC_PI5.splitlines()
    for seed in range(5):
        random.Random(seed).shuffle(lines)
        assert parse_pmic("\n".join(lines)) == parse_pmic(PMIC_READ_ADC_PI5)


def test_sensor_sums_the_pmic_rails_and_labels_them(tmp_path):
    binary = vcgencmd_standin(tmp_path / "vcgencmd")
    sample = VcgencmdSensor(VcgencmdConfig(binary=str(binary))).read()
    assert sample.label == "PMIC rails" and not sample.estimated
    assert sample.watts == pytest.approx(sum(parse_pmic(PMIC_READ_ADC_PI5).values()))
    assert "EXT5V" not in sample.rails


def test_found_on_path(tmp_path, monkeypatch):
    vcgencmd_standin(tmp_path / "vcgencmd")
    on_path(monkeypatch, tmp_path)
    assert VcgencmdSensor(VcgencmdConfig()).read().source == "vcgencmd"


def test_readings_within_min_interval_spawn_no_process(tmp_path):
    binary = vcgencmd_standin(tmp_path / "vcgencmd")
    clock = FakeClock()
    sensor = VcgencmdSensor(VcgencmdConfig(binary=str(binary), min_interval_s=0.1), clock=clock)
    first = sensor.read()
    clock.advance(0.05)
    assert sensor.read() is first and calls(binary) == 1  # the opening read only
    clock.advance(0.06)
    assert sensor.read().t_monotonic == clock.t and calls(binary) == 2


def test_min_interval_cannot_go_below_100_ms():
    with pytest.raises(ValueError, match="min_interval_s"):
        VcgencmdConfig(min_interval_s=0.05)


@pytest.mark.parametrize("code", [0, 255])
def test_a_pi_without_pmic_adc_fails_when_opened(tmp_path, code):
    binary = vcgencmd_standin(tmp_path / "vcgencmd", PMIC_READ_ADC_PI4, code=code)
    with pytest.raises(SensorError, match="pmic_read_adc"):
        VcgencmdSensor(VcgencmdConfig(binary=str(binary)))


def test_missing_binary(tmp_path):
    with pytest.raises(SensorError, match="not found"):
        VcgencmdSensor(VcgencmdConfig(binary=str(tmp_path / "vcgencmd")))
