"""The governor in closed loop with the plant simulator, through the real ina2xx sensor and
telemetry emitter on a stand-in hwmon tree, on a virtual clock. The targets are properties of
the loop: steady-state mean within 5 % of the budget, settling within 10 s of a budget step,
k never below the sampler's revisit minimum, the frame rate never below its floor, and an
infeasible budget reported as saturation."""

from pathlib import Path

import pytest

from bench.governor_sim.plant import PlantConfig
from bench.governor_sim.simulate import Run, simulate
from firmware_py.governor import GovernorConfig
from firmware_py.telemetry import read_stats

STEPS = [(0.0, 6.0), (30.0, 4.0), (60.0, 5.0)]


def check_targets(run: Run) -> None:
    for fig in run.figures:
        assert fig.feasible, fig
        assert abs(fig.mean_error) <= 0.05, fig
        assert fig.settling_s is not None and fig.settling_s <= 10.0, fig
        assert fig.saturated_frac == 0.0, fig
    assert run.trace.k.min() >= run.governor.min_k
    assert run.trace.k.max() <= run.governor.max_k
    assert (1.0 / run.trace.period).min() >= run.governor.config.min_fps - 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_budget_steps_are_followed(tmp_path: Path, seed: int) -> None:
    run = simulate(STEPS, 90.0, tmp_path, plant=PlantConfig(seed=seed),
                   log_path=tmp_path / "stats.jsonl")
    check_targets(run)
    # the 6 W step is held with k above its minimum, the 4 W step needs the interval too
    assert run.trace.k[(run.trace.t > 20) & (run.trace.t < 30)].mean() > run.governor.min_k + 1
    slow = (run.trace.t > 45) & (run.trace.t < 60)
    assert (run.trace.interval[slow] > 1 / run.governor.config.max_fps).all()
    records = read_stats(tmp_path / "stats.jsonl")  # the pipeline's log of the same run
    assert {r["budget_w"] for r in records} == {6.0, 4.0, 5.0}
    assert all(r["power_source"] == "ina2xx" for r in records)


@pytest.mark.parametrize("plant", [
    {"tile_s": 0.02, "tile_j": 0.09},  # compute-bound at full speed
    {"idle_w": 1.0, "tile_j": 0.06},  # most of the power is the work's (high loop gain)
    {"noise_w": 0.25, "lag_s": 0.5},  # a noisy, slow sensor
], ids=["compute-bound", "low-idle", "noisy-sensor"])
def test_targets_hold_on_other_boards(tmp_path: Path, plant: dict) -> None:
    check_targets(simulate(STEPS, 90.0, tmp_path, plant=PlantConfig(**plant)))


def test_an_infeasible_budget_is_reported_and_the_floors_hold(tmp_path: Path) -> None:
    steps = [(0.0, 5.0), (20.0, 2.0), (50.0, 5.0)]
    run = simulate(steps, 75.0, tmp_path, governor=GovernorConfig(budget_w=5.0, min_fps=2.0))
    low = run.figures[1]
    assert not low.feasible and low.budget_w < low.floor_w
    late = (run.trace.t > 35) & (run.trace.t < 50)
    assert run.trace.saturated[late].all()
    assert (run.trace.k[late] == run.governor.min_k).all()
    assert run.trace.interval[late] == pytest.approx(1 / 2.0)
    assert run.trace.k.min() >= run.governor.min_k
    assert (1.0 / run.trace.period).min() >= 2.0 - 1e-9
    back = run.figures[2]  # and it recovers once the budget is feasible again
    assert back.settling_s is not None and back.settling_s <= 10.0
    assert not run.trace.saturated[run.trace.t > 60].any()
