"""RAPL powercap sensor on a fake ``/sys/class/powercap`` tree, with a hand-moved clock."""

import pytest

from firmware_py.power import SensorError
from firmware_py.power.rapl import RaplConfig, RaplSensor, energy_delta
from tests.firmware_py.power.standins import RAPL_RANGE_UJ, FakeClock, rapl_zone, write_attr


def laptop(sysfs, package_uj=1_000_000_000, psys_uj=5_000_000_000):
    """A client machine: one package with core/uncore sub-zones, and the psys platform zone."""
    package = rapl_zone(sysfs, "intel-rapl:0", "package-0", package_uj)
    core = rapl_zone(sysfs, "intel-rapl:0:0", "core", 400_000_000)
    rapl_zone(sysfs, "intel-rapl:0:1", "uncore", 10_000_000)
    psys = rapl_zone(sysfs, "intel-rapl:1", "psys", psys_uj)
    return package, core, psys


def test_power_is_energy_delta_over_time_for_the_package_only(tmp_path):
    package, core, psys = laptop(tmp_path)
    clock = FakeClock()
    sensor = RaplSensor(RaplConfig(sysfs_root=str(tmp_path)), clock=clock)
    write_attr(package / "energy_uj", 1_000_000_000 + 9_000_000)  # +9 J
    write_attr(core / "energy_uj", 400_000_000 + 6_000_000)  # inside the package
    write_attr(psys / "energy_uj", 5_000_000_000 + 20_000_000)  # contains the package
    clock.advance(2.0)
    sample = sensor.read()
    assert sample.watts == pytest.approx(9.0 / 2.0)
    assert sample.rails == {"package-0": pytest.approx(4.5)}
    assert (sample.label, sample.source, sample.estimated) == ("package-0", "rapl", False)
    assert sample.t_monotonic == clock.t


def test_two_sockets_are_summed(tmp_path):
    p0 = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    p1 = rapl_zone(tmp_path, "intel-rapl:1", "package-1", 0)
    clock = FakeClock()
    sensor = RaplSensor(RaplConfig(sysfs_root=str(tmp_path)), clock=clock)
    write_attr(p0 / "energy_uj", 30_000_000)
    write_attr(p1 / "energy_uj", 10_000_000)
    clock.advance(1.0)
    sample = sensor.read()
    assert sample.watts == pytest.approx(40.0) and sample.label == "package-0+package-1"


def test_wrap_around_adds_the_counter_range(tmp_path):
    start = RAPL_RANGE_UJ - 1_500_000
    package = rapl_zone(tmp_path, "intel-rapl:0", "package-0", start)
    clock = FakeClock()
    sensor = RaplSensor(RaplConfig(sysfs_root=str(tmp_path)), clock=clock)
    write_attr(package / "energy_uj", 2_500_000)  # wrapped past the range
    clock.advance(0.5)
    assert sensor.read().watts == pytest.approx((1.5 + 2.5) / 0.5)
    assert energy_delta(10, 5, 100) == 5 and energy_delta(5, 95, 100) == 10


def test_reads_closer_than_min_interval_reuse_the_last_sample(tmp_path):
    package = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    clock = FakeClock()
    sensor = RaplSensor(RaplConfig(sysfs_root=str(tmp_path), min_interval_s=0.1), clock=clock)
    write_attr(package / "energy_uj", 1_000_000)
    clock.advance(0.2)
    first = sensor.read()
    write_attr(package / "energy_uj", 9_000_000)
    clock.advance(0.05)
    assert sensor.read() is first
    clock.advance(0.06)
    assert sensor.read().watts == pytest.approx(8.0 / 0.11)


def test_first_read_waits_out_the_interval_on_the_real_clock(tmp_path):
    rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    sensor = RaplSensor(RaplConfig(sysfs_root=str(tmp_path), min_interval_s=0.02))
    assert sensor.read().watts == 0.0  # the counter did not move


def test_no_package_zone_raises(tmp_path):
    rapl_zone(tmp_path, "intel-rapl:0:0", "core", 0)  # a sub-zone alone is not enough
    with pytest.raises(SensorError, match="no RAPL package zone"):
        RaplSensor(RaplConfig(sysfs_root=str(tmp_path)))
