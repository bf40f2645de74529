"""tegrastats sensor: the parser on recorded lines, and the subprocess reader driven by a
stand-in ``tegrastats`` that prints those lines (see standins.py)."""

import time

import pytest

from firmware_py.power import SensorError
from firmware_py.power.tegrastats import TegrastatsConfig, TegrastatsSensor, parse_rails
from tests.firmware_py.power.standins import (
    TEGRASTATS_NANO,
    TEGRASTATS_ORIN,
    tegrastats_standin,
)


def first_number(line: str, rail: str) -> float:
    """The rail's current reading in watts, split out by hand as a reader would."""
    tokens = line.split()
    return int(tokens[tokens.index(rail) + 1].split("/")[0].removesuffix("mW")) / 1000


@pytest.mark.parametrize("line", TEGRASTATS_ORIN)
def test_orin_lines_with_mw_units(line):
    rails = parse_rails(line)
    assert set(rails) == {"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"}  # not RAM, SWAP, CPU, ...
    for rail, watts in rails.items():
        assert watts == pytest.approx(first_number(line, rail))


@pytest.mark.parametrize("line", TEGRASTATS_NANO)
def test_nano_lines_without_units(line):
    rails = parse_rails(line)
    assert set(rails) == {"POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"}  # not IRAM 0/252kB
    for rail, watts in rails.items():
        assert watts == pytest.approx(first_number(line, rail))


def test_a_line_without_rails_parses_to_nothing():
    assert parse_rails("RAM 2448/7620MB (lfb 1117x4MB) SWAP 0/3810MB (cached 0MB)") == {}


@pytest.mark.parametrize(("lines", "total"), [(TEGRASTATS_ORIN, "VDD_IN"),
                                              (TEGRASTATS_NANO, "POM_5V_IN")])
def test_sensor_reads_the_running_utility(tmp_path, lines, total):
    binary = tegrastats_standin(tmp_path / "tegrastats", lines)
    # stale only after 1 s: a loaded machine may starve the stand-in for a while
    config = TegrastatsConfig(binary=str(binary), interval_ms=20, stale_intervals=50)
    with TegrastatsSensor(config) as sensor:
        seen, deadline = set(), time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            sample = sensor.read()
            assert sample.label == total and sample.watts == sample.rails[total]
            assert sample.watts < sum(sample.rails.values()) or len(sample.rails) == 1
            seen.add(round(sample.watts, 9))
            time.sleep(0.02)
        assert seen <= {first_number(line, total) for line in lines} and len(seen) >= 2
        proc = sensor._proc
    assert (tmp_path / "tegrastats.argv").read_text() == "--interval 20"
    assert proc.poll() is not None  # close() stopped it


def test_an_exited_utility_makes_reads_fail(tmp_path):
    binary = tegrastats_standin(tmp_path / "tegrastats", TEGRASTATS_ORIN[:1], repeat=False)
    sensor = TegrastatsSensor(TegrastatsConfig(binary=str(binary), interval_ms=20,
                                               stale_intervals=2))
    try:
        sensor.read()
        time.sleep(0.3)
        with pytest.raises(SensorError, match="exited with code 0"):
            sensor.read()
    finally:
        sensor.close()
        sensor.close()  # twice is fine


def test_missing_binary_and_silent_utility(tmp_path):
    with pytest.raises(SensorError, match="not found"):
        TegrastatsSensor(TegrastatsConfig(binary=str(tmp_path / "nope")))
    binary = tegrastats_standin(tmp_path / "tegrastats", ["RAM 2448/7620MB"], repeat=False)
    with pytest.raises(SensorError, match="no rail line"):
        TegrastatsSensor(TegrastatsConfig(binary=str(binary), interval_ms=10,
                                          start_timeout_s=2))
