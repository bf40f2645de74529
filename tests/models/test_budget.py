"""The time budget on an injected clock."""

import math

import pytest

from models.budget import EVAL_MARGIN, SAVE_RESERVE_S, TimeBudget


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_training_time_is_the_budget_less_the_final_evaluation() -> None:
    clock = Clock()
    budget = TimeBudget(600.0, clock)
    budget.reserve(40.0)
    train_s = 600.0 - EVAL_MARGIN * 40.0 - SAVE_RESERVE_S
    assert budget.train_seconds == pytest.approx(train_s)
    clock.now += train_s / 2
    assert budget.train_fraction() == pytest.approx(0.5)
    assert budget.train_fraction(ahead=train_s / 2) == pytest.approx(1.0)
    assert budget.train_left() == pytest.approx(train_s / 2)


def test_no_budget_never_runs_out() -> None:
    clock = Clock()
    budget = TimeBudget(None, clock)
    budget.reserve(1e6)
    budget.check_reserve("anything")
    clock.now += 1e9
    assert budget.train_fraction() == 0.0 and math.isinf(budget.train_left())


def test_a_final_evaluation_over_half_the_budget_is_refused() -> None:
    budget = TimeBudget(120.0, Clock())
    budget.reserve(60.0)
    with pytest.raises(ValueError, match=r"--max-minutes 2 cannot hold the val"):
        budget.check_reserve("the validation of 9 images")
