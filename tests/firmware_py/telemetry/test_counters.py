"""Telemetry's named counters, samples and gauges in one snapshot."""

import pytest

from firmware_py.telemetry import Telemetry, loghist, stage_name


def run_frames(tel: Telemetry, fps: float, seconds: float, k: int, skip_every: int = 0) -> float:
    now = 0.0
    for i in range(int(fps * seconds)):
        now = i / fps
        tel.count("camera", now=now)
        if skip_every and i % skip_every == 0:
            tel.count("skipped", now=now)
            continue
        tel.count("inference", now=now)
        tel.count("tiles", k, now=now)
        tel.observe(stage_name("infer"), 10.0 + (i % 5), now=now)
    return now


def test_snapshot_reports_rates_totals_tiles_per_frame_and_latency() -> None:
    tel = Telemetry(window_s=2.0)
    now = run_frames(tel, fps=30, seconds=6, k=6, skip_every=3)
    tel.gauge("budget_w", 4.5)
    snap = tel.snapshot(now)
    assert snap["camera_fps"] == pytest.approx(30, rel=0.03)
    assert snap["skipped_fps"] == pytest.approx(10, rel=0.05)
    assert snap["inference_fps"] == pytest.approx(20, rel=0.05)
    assert snap["tiles_per_frame"] == pytest.approx(6.0)
    assert snap["camera_total"] == 180
    assert 10.0 <= snap["infer_ms_p50"] <= snap["infer_ms_p95"] <= 14.0
    assert loghist.decode(snap["infer_ms_hist"]).sum() == 120
    assert snap["budget_w"] == 4.5
    assert snap["uptime_s"] == pytest.approx(now)


def test_histogram_in_a_snapshot_holds_only_the_samples_since_the_previous_one() -> None:
    tel = Telemetry()
    for i in range(5):
        tel.observe("x_ms", 1.0, now=i)
    assert loghist.decode(tel.snapshot(5)["x_ms_hist"]).sum() == 5
    tel.observe("x_ms", 1.0, now=6)
    assert loghist.decode(tel.snapshot(6)["x_ms_hist"]).sum() == 1


def test_rate_and_total_of_unknown_names_are_zero() -> None:
    tel = Telemetry()
    assert tel.rate("nothing", now=1.0) == 0.0
    assert tel.total("nothing") == 0


def test_the_clock_is_used_when_now_is_omitted() -> None:
    t = [100.0]
    tel = Telemetry(window_s=1.0, clock=lambda: t[0])
    for _ in range(10):
        tel.count("camera")
        t[0] += 0.1
    assert tel.rate("camera") == pytest.approx(10.0)


def test_per_frame_calls_do_not_grow_memory() -> None:
    tel = Telemetry(window_s=1.0, capacity=64)
    run_frames(tel, fps=100, seconds=30, k=4)
    assert all(len(w._events) <= 64 for w in tel._events.values())
    assert all(len(w._samples) <= 64 for w in tel._samples.values())


def test_bad_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window_s"):
        Telemetry(window_s=0)
