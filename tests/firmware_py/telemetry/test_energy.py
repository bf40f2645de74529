"""Trapezoid energy over the caller's clock."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_py.telemetry.energy import EnergyMeter


@given(st.lists(st.floats(0.0, 50.0), min_size=2, max_size=50))
def test_energy_of_readings_is_the_trapezoid_integral(watts: list[float]) -> None:
    meter = EnergyMeter()
    times = np.cumsum(np.linspace(0.1, 0.3, len(watts)))
    for t, w in zip(times, watts, strict=True):
        meter.add(float(t), w)
    assert meter.joules == pytest.approx(np.trapezoid(watts, times), abs=1e-9)
    assert meter.first_t == times[0] and meter.last_t == times[-1]


def test_out_of_order_readings_are_ignored() -> None:
    meter = EnergyMeter()
    meter.add(1.0, 5.0)
    meter.add(2.0, 5.0)
    meter.add(1.5, 100.0)
    assert meter.joules == pytest.approx(5.0)
