"""The fallback to the estimate: at opening (sensor missing) and later (sensor failing), with a
warning each time, and back to the sensor once it answers again."""

import logging
import time

import pytest

from firmware_py.power import SensorError, create_sensor
from firmware_py.power.estimate import EstimateConfig
from firmware_py.power.fallback import FallbackSensor
from tests.firmware_py.power.standins import (
    TEGRASTATS_ORIN,
    FakeClock,
    ina2xx_hwmon,
    proc_stat,
    tegrastats_standin,
)

IDLE_CPU = [100, 0, 50, 10_000, 20, 0, 5, 0, 0, 0]


@pytest.fixture
def estimate(tmp_path):
    proc_stat(tmp_path / "proc", [IDLE_CPU] * 2)
    return EstimateConfig(proc_root=str(tmp_path / "proc"), idle_w=3.0, per_core_w=1.0,
                          min_interval_s=0.01)


def test_missing_sensor_degrades_to_the_estimate_with_a_warning(tmp_path, estimate, caplog):
    caplog.set_level(logging.WARNING)
    sensor = create_sensor({"type": "ina2xx", "sysfs_root": str(tmp_path / "sys")},
                           estimate=estimate)
    sample = sensor.read()
    assert sample.estimated and sample.label == "estimated" and sample.source == "estimate"
    assert sample.watts == pytest.approx(3.0)  # the given coefficients, no busy tick
    assert "ina2xx" in caplog.text and "estimate" in caplog.text


def test_without_fallback_the_error_is_raised(tmp_path):
    with pytest.raises(SensorError):
        create_sensor({"type": "ina3221", "sysfs_root": str(tmp_path)}, fallback=False)


def test_failing_sensor_degrades_then_recovers(tmp_path, estimate, caplog):
    folder = ina2xx_hwmon(tmp_path / "sys")
    clock = FakeClock()
    sensor = create_sensor({"type": "ina2xx", "sysfs_root": str(tmp_path / "sys")},
                           estimate=estimate, clock=clock)
    assert isinstance(sensor, FallbackSensor) and not sensor.read().estimated
    caplog.set_level(logging.WARNING)
    power = (folder / "power1_input").read_text()
    (folder / "power1_input").unlink()
    (folder / "in1_input").unlink()  # the device went away
    assert sensor.read().estimated and sensor.degraded
    assert "ina2xx" in caplog.text and "failed" in caplog.text
    (folder / "power1_input").write_text(power)
    clock.advance(sensor.retry_s / 2)
    assert sensor.read().estimated  # not retried yet
    clock.advance(sensor.retry_s)
    sample = sensor.read()
    assert not sample.estimated and sample.source == "ina2xx" and not sensor.degraded
    assert "answers again" in caplog.text


def test_tegrastats_exit_degrades(tmp_path, estimate, caplog):
    binary = tegrastats_standin(tmp_path / "tegrastats", TEGRASTATS_ORIN[:1], repeat=False)
    sensor = create_sensor({"type": "tegrastats", "binary": str(binary), "interval_ms": 10,
                            "stale_intervals": 2}, estimate=estimate)
    try:
        assert not sensor.read().estimated
        caplog.set_level(logging.WARNING)
        deadline = time.monotonic() + 2.0
        while not sensor.read().estimated and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sensor.read().estimated and "tegrastats" in caplog.text
    finally:
        sensor.close()


def test_estimate_type_is_not_wrapped(estimate):
    sensor = create_sensor(estimate)
    assert sensor.key == "estimate" and not isinstance(sensor, FallbackSensor)
