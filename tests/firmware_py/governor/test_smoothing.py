"""The time-constant EMA."""

import math

import pytest

from firmware_py.governor.smoothing import Ema


def test_step_response_is_one_minus_exp_regardless_of_sampling() -> None:
    for dt in (0.01, 0.1, 0.37):
        ema = Ema(1.0)
        ema.update(0.0, 0.0)
        t = 0.0
        while t + dt <= 2.0 + 1e-9:
            t += dt
            value = ema.update(t, 1.0)
        assert value == pytest.approx(1 - math.exp(-t), rel=1e-9)


def test_first_reading_initialises_and_zero_tau_passes_through() -> None:
    assert Ema(5.0).update(3.0, 7.0) == 7.0
    ema = Ema(0.0)
    ema.update(0.0, 1.0)
    assert ema.update(0.1, 9.0) == 9.0


def test_repeated_time_does_not_move_and_negative_tau_is_refused() -> None:
    ema = Ema(1.0)
    ema.update(1.0, 0.0)
    assert ema.update(1.0, 100.0) == 0.0
    with pytest.raises(ValueError, match="time constant"):
        Ema(-1.0)
