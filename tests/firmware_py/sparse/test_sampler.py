import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from firmware_py.sparse.sampler import SamplerConfig, TileSampler, min_budget


def sampler(tiles: int, budget: int, revisit: int, seed: int = 0) -> TileSampler:
    return TileSampler(tiles, SamplerConfig(budget=budget, revisit_frames=revisit, seed=seed))


@settings(max_examples=60, deadline=None)
@given(tiles=st.integers(1, 40), revisit=st.integers(1, 10), extra=st.integers(0, 4),
       seed=st.integers(0, 2**32 - 1))
def test_budget_and_revisit_guarantee_hold_for_random_probabilities(tiles: int, revisit: int,
                                                                    extra: int,
                                                                    seed: int) -> None:
    budget = math.ceil(tiles / revisit) + extra
    s = sampler(tiles, budget, revisit, seed)
    rng = np.random.default_rng(seed)
    last_run = np.full(tiles, -1)
    for frame in range(10 * revisit):
        # Skewed probabilities, many near zero, so the draw alone would starve tiles.
        chosen = s(rng.random(tiles) ** 8)
        assert len(chosen) == min(budget, tiles)
        assert np.all(np.diff(chosen) > 0) and chosen.dtype == np.int64
        assert np.all(frame - last_run <= revisit)  # the gap to this frame's run, if any
        last_run[chosen] = frame
        assert s.ages.max() <= revisit - 1


def test_forcing_only_due_tiles_would_break_the_guarantee() -> None:
    # T=5, N=3, k=2 and a prior that always prefers tiles 0 and 1: forcing only tiles whose
    # age reached N lets three fall due on one frame. Planning ahead (EDF) must not.
    s = sampler(5, 2, 3)
    p = np.array([1.0, 1.0, 1e-9, 1e-9, 1e-9])
    for _ in range(30):
        s(p)
        assert s.ages.max() <= 2


def test_same_seed_same_sequence_and_other_seed_differs() -> None:
    rng = np.random.default_rng(3)
    probs = rng.random((50, 24))
    runs = [[sampler(24, 4, 12, seed)(p).tolist() for p in probs] for seed in (7, 7, 8)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_reset_restarts_the_sequence() -> None:
    s, p = sampler(16, 3, 8), np.linspace(0.1, 1.0, 16)
    first = [s(p).tolist() for _ in range(20)]
    s.reset()
    assert [s(p).tolist() for _ in range(20)] == first


def test_draws_are_proportional_to_probability() -> None:
    # A long revisit period never forces anything, so k=1 picks tile i with p_i / sum(p).
    p = np.array([0.05, 0.1, 0.2, 0.25, 0.4])
    s = sampler(5, 1, 100_000, seed=1)
    counts = np.bincount(np.concatenate([s(p) for _ in range(4000)]), minlength=5)
    np.testing.assert_allclose(counts / counts.sum(), p / p.sum(), atol=0.03)


def test_high_probability_tiles_are_chosen_more_often() -> None:
    p = np.full(20, 0.05)
    p[[3, 11]] = 0.9
    s = sampler(20, 3, 50, seed=2)
    counts = np.bincount(np.concatenate([s(p) for _ in range(300)]), minlength=20)
    assert counts[[3, 11]].min() > 200  # most frames
    assert np.delete(counts, [3, 11]).max() < 100


def test_budget_above_the_tile_count_runs_every_tile() -> None:
    s = sampler(6, 10, 2)
    assert s.budget == 6
    assert s(np.full(6, 0.01)).tolist() == list(range(6))


def test_invalid_budget_raises() -> None:
    assert min_budget(24, 5) == 5
    with pytest.raises(ValueError, match="ceil"):
        sampler(24, 4, 5)
    s = sampler(24, 5, 5)
    with pytest.raises(ValueError, match="at least"):
        s.set_budget(4)
    assert s.budget == 5
    with pytest.raises(ValidationError):
        SamplerConfig(budget=0)
    with pytest.raises(ValidationError):
        SamplerConfig(k=3)  # extra fields are forbidden


def test_probability_of_the_wrong_shape_or_nan_raises() -> None:
    s = sampler(4, 2, 4)
    with pytest.raises(ValueError):
        s(np.ones(5))
    with pytest.raises(ValueError):
        s(np.array([0.5, np.nan, 0.5, 0.5]))


def test_after_a_budget_cut_the_oldest_run_first_and_the_guarantee_recovers() -> None:
    tiles, revisit = 12, 4
    s = sampler(tiles, 8, revisit)
    p = np.full(tiles, 1e-6)
    p[:2] = 1.0
    for _ in range(3):
        s(p)
    s.set_budget(3)
    for _ in range(3 * revisit):
        before = s.ages + 1
        chosen = s(p)
        if before.max() > revisit:  # backlog: the oldest tiles go first
            assert before[chosen].min() >= np.sort(before)[-3]
    assert s.ages.max() <= revisit - 1


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_single_draws_follow_p_to_the_one_over_temperature(temperature: float) -> None:
    """With k = 1 and no revisit pressure, tile i is drawn with probability
    p_i ** (1/t) / sum_j p_j ** (1/t)."""
    p = np.array([0.6, 0.3, 0.2, 0.1])
    sampler = TileSampler(4, SamplerConfig(budget=1, revisit_frames=100_000, seed=3,
                                           temperature=temperature))
    counts = np.bincount([int(sampler(p)[0]) for _ in range(4000)], minlength=4)
    expected = p ** (1 / temperature) / (p ** (1 / temperature)).sum()
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.025)


def _cold_gap(age_weight: float) -> float:
    """95th percentile of the frames between runs of the tiles no cue lights, next to four
    hot ones (their mean is fixed by the budget; the age weight shortens the long waits)."""
    p = np.full(32, 0.02)
    p[:4] = 0.9
    sampler = TileSampler(32, SamplerConfig(budget=6, revisit_frames=30, seed=1,
                                            temperature=0.25, age_weight=age_weight))
    last, gaps = np.zeros(32), []
    for frame in range(1, 600):
        for tile in sampler(p):
            if tile >= 4:
                gaps.append(frame - last[tile])
            last[tile] = frame
    return float(np.percentile(gaps, 95))


def test_age_weight_explores_cold_tiles_before_the_guarantee_forces_them() -> None:
    without, with_age = _cold_gap(0.0), _cold_gap(0.5)
    assert with_age < 0.8 * without


def adaptive(tiles: int, budget: int, revisit: int, level: float = 0.5, explore: float = 0.0,
             seed: int = 0) -> TileSampler:
    return TileSampler(tiles, SamplerConfig(budget=budget, revisit_frames=revisit, seed=seed,
                                            level=level, explore=explore))


def test_adaptive_budget_runs_the_lit_tiles_plus_the_exploration_share() -> None:
    s = adaptive(20, 20, 1000, level=0.5, explore=0.1)
    assert len(s(np.full(20, 0.01))) == 20  # nothing has run yet: every tile is unknown
    p = np.full(20, 0.01)
    p[[3, 11]] = 0.9
    for _ in range(5):
        chosen = s(p)
        assert len(chosen) == 2 + 2 and {3, 11} <= set(chosen.tolist())  # ceil(0.1 * 20) = 2


def test_adaptive_budget_is_capped_by_the_budget_and_floored_by_the_guarantee() -> None:
    s = adaptive(20, 5, 1000)
    assert [len(s(np.full(20, 0.9))) for _ in range(3)] == [5, 5, 5]  # cap
    s.set_budget(3)  # the governor cuts it
    assert len(s(np.full(20, 0.9))) == 3
    s = adaptive(12, 12, 4)
    s(np.ones(12))  # every tile ran once
    counts = [len(s(np.zeros(12))) for _ in range(8)]  # nothing lit: only what falls due
    assert counts[:3] == [0, 0, 0] and sum(counts) == 2 * 12 and max(s.ages) <= 3


@settings(max_examples=40, deadline=None)
@given(tiles=st.integers(1, 30), revisit=st.integers(1, 8), level=st.floats(0.05, 1.0),
       explore=st.floats(0.0, 0.3), seed=st.integers(0, 2**32 - 1))
def test_the_revisit_guarantee_holds_with_an_adaptive_budget(tiles: int, revisit: int,
                                                             level: float, explore: float,
                                                             seed: int) -> None:
    budget = math.ceil(tiles / revisit)
    s = adaptive(tiles, budget, revisit, level, explore, seed)
    rng = np.random.default_rng(seed)
    last_run = np.full(tiles, -1)
    for frame in range(8 * revisit):
        chosen = s(rng.random(tiles) ** 4)
        assert len(chosen) <= budget
        assert np.all(frame - last_run <= revisit)
        last_run[chosen] = frame
