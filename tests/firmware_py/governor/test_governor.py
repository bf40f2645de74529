"""The governor's setpoints: k first then the interval, bounds, dithering, saturation, run-time
budget changes, and the real sampler accepting every budget it sets."""

import math

import numpy as np
import pytest

from firmware_py.governor import Governor, GovernorConfig, Setpoint
from firmware_py.sparse import SamplerConfig, TileSampler, min_budget


def drive(gov: Governor, power, seconds: float, fps: float = 15.0, start: float = 0.0,
          tiles: bool = True) -> list[Setpoint]:
    """Feeds a power function of the current setpoint, frame by frame."""
    out, sp = [], Setpoint(gov.max_k, 1 / fps)
    t = start
    while t < start + seconds:
        sp = gov.update(t, power(sp), sp.budget if tiles else None)
        out.append(sp)
        t += max(sp.frame_interval_s, 1 / 1000)
    return out


def test_power_above_budget_cuts_k_first_then_stretches_the_interval() -> None:
    cfg = GovernorConfig(budget_w=1.0, max_fps=15, min_fps=2)
    gov = Governor(cfg, num_tiles=28, min_k=2, max_k=8)
    points = drive(gov, lambda sp: 10.0, seconds=30)
    for sp in points:  # the interval moves only once k sits at its minimum
        if sp.frame_interval_s > 1 / 15 + 1e-12:
            assert gov.min_k <= sp.budget <= gov.min_k + 1  # dithered around min_k
    ks = [sp.budget for sp in points]
    intervals = [sp.frame_interval_s for sp in points]
    first_stretch = next(i for i, v in enumerate(intervals) if v > 1 / 15 + 1e-12)
    assert max(ks[first_stretch:]) <= 2 < max(ks[:first_stretch])
    assert intervals[-1] == pytest.approx(1 / cfg.min_fps)  # floor reached, never passed
    assert max(intervals) <= 1 / cfg.min_fps + 1e-12
    assert gov.saturated  # 10 W against 1 W at the floor: infeasible, and said so


def test_power_below_budget_runs_at_full_speed_and_is_not_saturated() -> None:
    gov = Governor(GovernorConfig(budget_w=20.0), num_tiles=28, min_k=2, max_k=8)
    points = drive(gov, lambda sp: 5.0, seconds=10)
    assert points[-1] == Setpoint(8, 1 / 15)
    assert not gov.saturated


def test_dithered_k_averages_to_the_fractional_k() -> None:
    gov = Governor(GovernorConfig(), num_tiles=28, min_k=2, max_k=8)
    gov._k = 3.3
    ks = [gov._next_k() for _ in range(1000)]
    assert set(ks) == {3, 4}
    assert np.mean(ks) == pytest.approx(3.3, abs=1e-3)


def test_tracking_pulls_the_rate_down_to_what_the_board_delivers() -> None:
    """A compute-bound board runs 40 tiles/s whatever is asked; the power sits above budget
    only while the asked rate is above it. With the tiles fed back the target drops to the
    delivered rate at once; without, it crawls through the dead zone."""
    def board(sp: Setpoint) -> float:
        return 3.0 + 0.05 * min(sp.budget / sp.frame_interval_s, 40.0)

    rates = {}
    for tracking in (True, False):
        gov = Governor(GovernorConfig(budget_w=4.5, max_fps=30), 28, 2, 8)
        t, delivered = 0.0, 0
        sp = Setpoint(8, 1 / 30)
        while t < 2.0:
            sp = gov.update(t, board(sp), delivered if tracking else None)
            period = max(sp.frame_interval_s, sp.budget / 40.0)  # compute-bound
            delivered = sp.budget
            t += period
        rates[tracking] = gov.tile_rate
    assert rates[True] <= 40.0 * 1.2 + 1e-9
    assert rates[False] > 2 * rates[True]


def test_run_time_budget_change_and_bad_values() -> None:
    gov = Governor(GovernorConfig(budget_w=5.0), 28, 2, 8)
    gov.set_budget_w(3.5)
    assert gov.budget_w == 3.5 and gov.stats()["budget_w"] == 3.5
    with pytest.raises(ValueError, match="budget"):
        gov.set_budget_w(0.0)
    with pytest.raises(ValueError, match="min_k"):
        Governor(GovernorConfig(), 28, 5, 4)
    with pytest.raises(ValueError, match="min_fps"):
        Governor(GovernorConfig(min_fps=20, max_fps=10), 28, 2, 8)
    with pytest.raises(ValueError, match="extra"):
        GovernorConfig(gain=1.0)


def test_no_power_reading_holds_the_start_setpoint() -> None:
    gov = Governor(GovernorConfig(), 28, 2, 8)
    points = [gov.update(t / 15, None, 8) for t in range(60)]
    assert {p.budget for p in points} == {8}


def test_every_budget_set_is_accepted_by_the_real_sampler() -> None:
    sampler = TileSampler(28, SamplerConfig(budget=8, revisit_frames=15))
    gov = Governor.for_sampler(GovernorConfig(budget_w=2.0, min_fps=2), sampler)
    assert gov.min_k == min_budget(28, 15) and gov.max_k == 8
    rng = np.random.default_rng(0)
    ages_max = 0
    sp = Setpoint(8, 1 / 15)
    for i in range(2000):
        power = 2.0 + 0.5 * math.sin(i / 50) + 0.01 * sp.budget * 15
        sp = gov.update(i / 15, power, sp.budget)
        sampler.set_budget(sp.budget)  # raises if k ever went below the revisit minimum
        sampler(rng.random(28))
        ages_max = max(ages_max, int(sampler.ages.max()))
    assert ages_max <= 15  # the grid prior kept its revisit guarantee (one frame of slack)


def test_a_compute_bound_board_under_budget_keeps_its_tiles() -> None:
    """At 5 fps (0.2 s of compute per frame) and well under budget, k stays at max_k: the
    tracking clamp must not trade tiles for frames the board cannot deliver."""
    gov = Governor(GovernorConfig(budget_w=20.0, max_fps=15), num_tiles=32, min_k=3, max_k=8)
    now, k = 0.0, 8
    for _ in range(100):
        k = gov.update(now, 12.0, tiles_run=k, busy_s=0.2).budget
        now += 0.2
    assert k == 8 and gov.stats()["governor_k"] == 8
