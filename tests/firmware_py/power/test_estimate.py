"""CPU-utilisation estimate on fake ``/proc/stat`` files, and once on this machine's own."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.power import SensorError
from firmware_py.power.estimate import EstimateConfig, EstimateSensor, cpu_times
from tests.firmware_py.power.standins import proc_stat

IDLE_CPU = [100, 0, 50, 10_000, 20, 0, 5, 0, 0, 0]


def config(proc, **kw):
    return EstimateConfig(proc_root=str(proc), min_interval_s=0.01, **kw)


def test_busy_cores_times_coefficients(tmp_path):
    proc_stat(tmp_path, [IDLE_CPU] * 4)
    sensor = EstimateSensor(config(tmp_path, idle_w=2.5, per_core_w=1.2))
    # over the interval: cpu0 and cpu1 fully busy, cpu2 half busy (half iowait), cpu3 idle
    busy = [[a + d for a, d in zip(IDLE_CPU, delta, strict=True)] for delta in (
        [80, 0, 20, 0, 0, 0, 0, 0, 0, 0], [90, 5, 5, 0, 0, 0, 0, 0, 0, 0],
        [50, 0, 0, 0, 50, 0, 0, 0, 0, 0], [0, 0, 0, 100, 0, 0, 0, 0, 0, 0])]
    proc_stat(tmp_path, busy)
    sample = sensor.read()
    assert sample.watts == pytest.approx(2.5 + 1.2 * 2.5)
    assert (sample.source, sample.label, sample.estimated) == ("estimate", "estimated", True)


def test_guest_time_is_not_counted_twice(tmp_path):
    proc_stat(tmp_path, [IDLE_CPU])
    sensor = EstimateSensor(config(tmp_path, idle_w=1.0, per_core_w=1.0))
    # 50 ticks user of which 50 were a guest, 50 idle: half busy, not 100/150
    proc_stat(tmp_path, [[a + d for a, d in zip(IDLE_CPU, [50, 0, 0, 50, 0, 0, 0, 0, 50, 0],
                                                strict=True)]])
    assert sensor.read().watts == pytest.approx(1.5)


def test_no_tick_between_reads_returns_the_last_sample(tmp_path):
    proc_stat(tmp_path, [IDLE_CPU] * 2)
    sensor = EstimateSensor(config(tmp_path))
    first = sensor.read()
    assert first.watts == sensor.config.idle_w  # no tick yet counts as idle
    assert sensor.read() is first


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=8),
       st.floats(0, 20), st.floats(0, 5))
def test_estimate_stays_between_idle_and_all_cores_busy(tmp_path_factory, deltas, idle, core):
    proc = tmp_path_factory.mktemp("proc")
    proc_stat(proc, [IDLE_CPU] * len(deltas))
    sensor = EstimateSensor(config(proc, idle_w=idle, per_core_w=core))
    proc_stat(proc, [[IDLE_CPU[0] + busy, 0, 50, IDLE_CPU[3] + idle_ticks, 20, 0, 5, 0, 0, 0]
                     for busy, idle_ticks in deltas])
    watts = sensor.read().watts
    assert idle - 1e-9 <= watts <= idle + core * len(deltas) + 1e-9


def test_this_machines_proc_stat(monkeypatch):
    total, idle, cores = cpu_times("/proc")
    assert total >= idle >= 0 and cores >= 1
    sample = EstimateSensor(EstimateConfig(min_interval_s=0.05)).read()
    assert 2.0 <= sample.watts <= 2.0 + 1.0 * cores


def test_malformed_stat_names_the_file(tmp_path):
    (tmp_path / "stat").write_text("intr 1 2 3\n")
    with pytest.raises(SensorError, match="stat"):
        EstimateSensor(config(tmp_path))
