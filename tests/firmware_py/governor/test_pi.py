"""The incremental PI: integral action, clamping without windup."""

import pytest

from firmware_py.governor.pi import IncrementalPI


def test_constant_error_ramps_at_ki() -> None:
    pi = IncrementalPI(kp=0.5, ki=2.0, u0=0.0)
    for _ in range(10):
        u = pi.step(0.1, 0.1, -100, 100)
    assert u == pytest.approx(10 * 2.0 * 0.1 * 0.1)


def test_proportional_kick_follows_the_change_of_error() -> None:
    pi = IncrementalPI(kp=0.5, ki=0.0, u0=1.0)
    pi.step(0.0, 0.1, -10, 10)
    assert pi.step(0.4, 0.1, -10, 10) == pytest.approx(1.0 + 0.5 * 0.4)


def test_no_windup_the_output_leaves_a_limit_as_soon_as_the_error_turns() -> None:
    pi = IncrementalPI(kp=0.0, ki=1.0, u0=0.0)
    for _ in range(1000):  # a long saturation
        pi.step(1.0, 0.1, -1.0, 1.0)
    assert pi.u == 1.0 and pi.at_high
    u = pi.step(-0.5, 0.1, -1.0, 1.0)
    assert u < 1.0 and not pi.at_high


def test_negative_gains_are_refused() -> None:
    with pytest.raises(ValueError, match="gains"):
        IncrementalPI(-1.0, 1.0, 0.0)
