"""The LR schedule on progress: step-exact without a budget, clock-driven with one."""

import pytest

from models.schedule import MAX_WARMUP, WarmupCosine


def test_by_steps_warms_up_then_anneals_to_zero() -> None:
    s = WarmupCosine(warmup_steps=10, total_steps=110)
    assert s(s.progress(0)) == pytest.approx(0.1)  # first step: a tenth of the peak, not 0
    assert s(s.progress(9)) == pytest.approx(1.0)
    assert s(s.progress(59)) == pytest.approx(0.5)
    assert s(s.progress(109)) == pytest.approx(0.0)
    assert s(s.progress(500)) == pytest.approx(0.0)


def test_the_clock_drives_progress_when_it_is_further_along() -> None:
    s = WarmupCosine(warmup_steps=10, total_steps=10_000)
    assert s.progress(20, time_fraction=0.5) == 0.5  # half the time, 20 of 10,000 steps
    assert s(s.progress(20, time_fraction=0.5)) == pytest.approx(0.5, abs=0.01)
    assert s(s.progress(20)) == pytest.approx(1.0, abs=0.01)  # no time spent: by steps
    assert s(s.progress(20, time_fraction=1.0)) == pytest.approx(0.0)


def test_a_warm_up_longer_than_the_run_is_capped_so_the_run_still_anneals() -> None:
    s = WarmupCosine(warmup_steps=200, total_steps=100)
    assert s.warmup == MAX_WARMUP
    assert s(MAX_WARMUP) == pytest.approx(1.0) and s(1.0) == pytest.approx(0.0)


def test_no_warm_up_starts_at_the_peak() -> None:
    s = WarmupCosine(warmup_steps=0, total_steps=100)
    assert s(s.progress(0)) == pytest.approx(1.0, abs=1e-3)
