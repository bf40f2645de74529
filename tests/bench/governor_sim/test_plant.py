"""The plant simulator: its duty-cycle power model, and the stand-in hwmon device read by the
real ina2xx sensor."""

from pathlib import Path

import pytest

from bench.governor_sim.hwmon import FakeHwmon
from bench.governor_sim.plant import Plant, PlantConfig
from firmware_py.power import create_sensor


def test_fake_hwmon_reads_back_through_the_real_sensor(tmp_path: Path) -> None:
    with FakeHwmon(tmp_path) as hwmon:
        sensor = create_sensor({"type": "ina2xx", "sysfs_root": str(tmp_path)}, fallback=False)
        for watts in (3.2, 12.75, 0.4):
            hwmon.write(watts, 5.1)
            assert sensor.read().watts == pytest.approx(watts, abs=1e-6)
        for name in ("in1_input", "curr1_input", "power1_input"):  # kernel format
            text = (hwmon.dir / name).read_text()
            assert text.endswith("\n") and text[:-1].isdigit()
        (hwmon.dir / "power1_input").unlink()  # the sensor falls back to mV * mA
        hwmon.write(3.0, 5.0)
        assert sensor.read().watts == pytest.approx(3.0, rel=1e-3)


def test_frames_settle_to_the_steady_power_model() -> None:
    plant = Plant(PlantConfig(noise_w=0.0))
    for k, interval in ((8, 1 / 15), (2, 1 / 15), (2, 0.5)):
        for _ in range(int(200 / max(interval, plant.busy_s(k)))):  # 10 thermal constants
            run = plant.run_frame(k, interval)
        assert run.power_w == pytest.approx(plant.steady_power(k, interval), rel=1e-3)
        assert run.reading_w == pytest.approx(run.power_w, rel=1e-3)


def test_a_compute_bound_frame_lasts_its_busy_time() -> None:
    plant = Plant()
    run = plant.run_frame(8, 0.001)
    assert run.period_s == pytest.approx(plant.busy_s(8)) and run.busy_s == run.period_s


def test_more_work_per_second_draws_more_power() -> None:
    plant = Plant()
    assert plant.steady_power(2, 1.0) < plant.steady_power(2, 0.1) < plant.steady_power(6, 0.1)


def test_noise_is_seeded() -> None:
    a = [Plant(PlantConfig(seed=3)).run_frame(4, 0.1).reading_w for _ in range(2)]
    b = Plant(PlantConfig(seed=4)).run_frame(4, 0.1).reading_w
    assert a[0] == a[1] != b
