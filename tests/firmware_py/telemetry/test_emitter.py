"""The emitter with the real ina2xx sensor on a stand-in hwmon tree, the real jsonl sink, and
the stats log: energy, J/frame, periods, sensor failures."""

import json
from pathlib import Path

import pytest

from bench.governor_sim.hwmon import FakeHwmon
from firmware_py.power import create_sensor
from firmware_py.sinks import create_sink
from firmware_py.sinks.stamp import RunStamp
from firmware_py.telemetry import Telemetry, TelemetryConfig, TelemetryEmitter, read_stats


def rig(tmp_path: Path, log_name: str = "stats.jsonl", period_s: float = 1.0):
    hwmon = FakeHwmon(tmp_path / "sys")
    t = [0.0]
    sensor = create_sensor({"type": "ina2xx", "sysfs_root": str(tmp_path / "sys")},
                           fallback=False, clock=lambda: t[0])
    sink = create_sink({"type": "jsonl", "path": str(tmp_path / "sink.jsonl")})
    tel = Telemetry(window_s=2.0)
    emitter = TelemetryEmitter(tel, [sink], tmp_path / log_name, period_s, sensor,
                               power_period_s=0.1, sysfs_root=str(tmp_path / "sys"))
    return hwmon, tel, emitter, sink


def run(hwmon: FakeHwmon, tel: Telemetry, emitter: TelemetryEmitter, watts, seconds: float,
        fps: float = 20.0, start: float = 0.0) -> list[dict]:
    records = []
    for i in range(int(seconds * fps)):
        now = start + i / fps
        hwmon.write(watts(now), 5.0)
        tel.count("inference", now=now)
        if (r := emitter.tick(now)) is not None:
            records.append(r)
    return records


def test_constant_power_gives_exact_energy_and_joules_per_frame(tmp_path: Path) -> None:
    hwmon, tel, emitter, sink = rig(tmp_path)
    records = run(hwmon, tel, emitter, lambda t: 4.0, seconds=10.0)
    emitter.close()
    sink.close()
    assert len(records) == 9
    last = records[-1]
    assert last["power_w"] == pytest.approx(4.0, rel=1e-6)
    assert last["joules_per_frame"] == pytest.approx(4.0 / 20.0, rel=0.02)
    assert last["energy_j"] == pytest.approx(4.0 * (9.0 - 0.0), rel=0.02)
    assert last["frames"] == 20 and last["period_s"] == pytest.approx(1.0)
    assert last["power_source"] == "ina2xx" and last["power_ina219_w"] == pytest.approx(4.0)
    logged = read_stats(tmp_path / "stats.jsonl")
    sent = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text().splitlines()]
    assert len(logged) == len(sent) == 9
    assert sent[-1]["kind"] == "stats" and logged[-1]["frames"] == 20


def test_period_mean_power_follows_a_ramp(tmp_path: Path) -> None:
    hwmon, tel, emitter, _ = rig(tmp_path)
    records = run(hwmon, tel, emitter, lambda t: 2.0 + 0.5 * t, seconds=6.0)
    emitter.close()
    for r in records[1:]:  # mean of a ramp over [t - 1, t] (readings every 0.1 s)
        assert r["power_w"] == pytest.approx(2.0 + 0.5 * (r["t"] - 0.55), abs=0.06)


def test_a_failing_sensor_is_counted_and_bridged(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    hwmon, tel, emitter, _ = rig(tmp_path)
    run(hwmon, tel, emitter, lambda t: 3.0, seconds=2.0)
    (hwmon.dir / "power1_input").rename(hwmon.dir / "gone")
    (hwmon.dir / "in1_input").rename(hwmon.dir / "gone2")
    run(hwmon, tel, emitter, lambda t: 3.0, seconds=1.0, start=2.0)
    (hwmon.dir / "gone").rename(hwmon.dir / "power1_input")
    (hwmon.dir / "gone2").rename(hwmon.dir / "in1_input")
    after = run(hwmon, tel, emitter, lambda t: 3.0, seconds=2.0, start=3.0)
    emitter.close()
    assert after[-1]["power_errors"] in (9, 10)  # a reading every 0.1 s from 2.0 to 2.95
    assert sum("power reading failed" in m for m in caplog.messages) == 1
    assert after[-1]["power_w"] == pytest.approx(3.0, rel=1e-6)
    assert after[-1]["energy_j"] == pytest.approx(3.0 * after[-1]["t"], rel=0.02)  # bridged


def test_no_sensor_no_power_keys_and_csv_log(tmp_path: Path) -> None:
    tel = Telemetry()
    emitter = TelemetryEmitter(tel, [], tmp_path / "s.csv", 0.5, sysfs_root=str(tmp_path))
    for i in range(40):
        tel.count("camera", now=i / 10)
        emitter.tick(i / 10)
    emitter.close()
    records = read_stats(tmp_path / "s.csv")
    assert len(records) == 7
    assert not any(k.startswith("power") for k in records[0])
    assert records[-1]["camera_fps"] == pytest.approx(10.0, rel=0.05)


def test_from_config_builds_telemetry_with_the_configured_window(tmp_path: Path) -> None:
    config = TelemetryConfig(window_s=3.0, period_s=2.0, log_path=str(tmp_path / "x.jsonl"))
    emitter = TelemetryEmitter.from_config(config, [])
    assert emitter.telemetry.window_s == 3.0 and emitter.period_s == 2.0
    emitter.close()
    with pytest.raises(ValueError, match="extra"):
        TelemetryConfig(windw_s=3.0)


def test_records_carry_the_run_stamp_and_the_sinks_state(tmp_path: Path) -> None:
    stamp = RunStamp()
    stamp.next()  # the pipeline numbered a detection message first
    tel = Telemetry()
    emitter = TelemetryEmitter(tel, [], tmp_path / "s.csv", 0.5, sysfs_root=str(tmp_path),
                               stamp=stamp)
    records = [emitter.emit(float(i)) for i in range(3)]
    emitter.close()
    assert [(r["run_id"], r["seq"]) for r in records] == [(stamp.run_id, n) for n in (1, 2, 3)]
    assert stamp.next() == 4  # one counter for both kinds
    logged = read_stats(tmp_path / "s.csv")
    assert [(r["run_id"], r["seq"], r["mqtt_state"], r["spool_depth"]) for r in logged] == \
        [(stamp.run_id, n, "disabled", 0) for n in (1, 2, 3)]
    assert TelemetryEmitter(tel, [], None).stamp.run_id != stamp.run_id  # its own by default
