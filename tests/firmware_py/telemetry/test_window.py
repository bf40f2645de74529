"""Windowed rates and sample statistics on a virtual clock."""

import numpy as np
import pytest

from firmware_py.telemetry.window import EventWindow, SampleWindow


def test_rate_is_events_in_window_over_the_window_span() -> None:
    w = EventWindow(window_s=2.0, capacity=1000, start=0.0)
    for i in range(100):  # 10 per second for 10 s
        w.add(i / 10)
    assert w.rate(9.95) == pytest.approx(20 / 2.0)
    assert w.total == 100


def test_rate_before_a_full_window_divides_by_the_time_since_start() -> None:
    w = EventWindow(window_s=10.0, capacity=1000, start=0.0)
    for i in range(30):
        w.add(i / 30)
    assert w.rate(1.0) == pytest.approx(30.0)


def test_weighted_events_and_expiry() -> None:
    w = EventWindow(window_s=1.0, capacity=100, start=0.0)
    w.add(0.1, 8)
    w.add(0.6, 4)
    assert w.rate(1.0) == pytest.approx(12.0)
    assert w.rate(1.5) == pytest.approx(4.0)  # the first one left the window
    assert w.rate(5.0) == 0.0


def test_capacity_bounds_memory_and_keeps_the_rate_right() -> None:
    w = EventWindow(window_s=10.0, capacity=50, start=0.0)
    for i in range(1000):  # 100 per second, far more than 50 fit in the window
        w.add(i / 100)
    assert len(w._events) == 50
    assert w.rate(9.995) == pytest.approx(100.0, rel=0.05)


def test_sample_stats_cover_only_the_window_and_histogram_restarts() -> None:
    s = SampleWindow(window_s=1.0, capacity=100)
    for i in range(10):
        s.add(i * 0.1, 1000.0)  # old samples, out of the window by t=2
    for i in range(20):
        s.add(2.0 + i * 0.01, float(i))
    mean, p50, p95 = s.stats(2.2)
    assert mean == pytest.approx(np.mean(np.arange(20)))
    assert p50 == pytest.approx(np.percentile(np.arange(20), 50))
    assert p95 == pytest.approx(np.percentile(np.arange(20), 95))
    assert s.take_histogram().sum() == 30
    assert s.take_histogram().sum() == 0
    assert s.stats(10.0) is None
