"""The power governor in closed loop with the plant simulator (bench/governor_sim/plant.py):
budget steps on a virtual clock, the real ina2xx sensor reading a fake hwmon tree, the real
telemetry emitter. Prints, per budget step, the settling time (1 s trailing mean of the true
power inside +-5 % of the budget), the steady-state mean error and the overshoot, as the worst
over several noise seeds, with and without tracking anti-windup side by side; writes a plot of
power vs budget and k over time (seed 0) and that run's stats log (read it with
``specks report``).

    .venv/bin/python bench/governor.py [--schedule 0:6,30:4,60:5,90:2.5,110:6]
        [--duration 140] [--seeds 5] [--plant tile_j=0.05 ...] [--gain ki=3 ...]
        [--out runs/bench]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.governor_sim.plant import PlantConfig  # noqa: E402
from bench.governor_sim.simulate import Run, simulate  # noqa: E402
from firmware_py.governor import GovernorConfig  # noqa: E402


def pairs(text: str) -> list[tuple[float, float]]:
    return [(float(t), float(w)) for t, w in (item.split(":") for item in text.split(","))]


def fields(items: list[str]) -> dict[str, float]:
    return {k: float(v) for k, v in (item.split("=", 1) for item in items)}


def worst(runs: list[Run], step: int) -> tuple[str, str, str, str]:
    figs = [r.figures[step] for r in runs]
    settle = [f.settling_s for f in figs]
    settle_txt = "never" if None in settle else f"{max(s for s in settle if s is not None):.1f}"
    err = max(abs(f.mean_error) for f in figs)
    over = max(f.overshoot for f in figs)
    sat = max(f.saturated_frac for f in figs)
    return settle_txt, f"{100 * err:.2f}", f"{100 * over:.1f}", f"{100 * sat:.0f}"


def plot(run: Run, path: Path) -> None:
    from matplotlib.figure import Figure

    tr = run.trace
    smooth = tr.trailing_mean(tr.end, 1.0)
    fig = Figure(figsize=(10, 6.5), layout="constrained")
    ax_p, ax_k, ax_f = fig.subplots(3, 1, sharex=True)
    ax_p.plot(tr.end, tr.reading, lw=0.4, color="0.7", label="sensor reading")
    ax_p.plot(tr.end, smooth, lw=1.2, label="true power, 1 s mean")
    ax_p.step(tr.t, tr.budget, where="post", color="k", ls="--", lw=1, label="budget")
    ax_p.set_ylabel("W")
    ax_p.legend(loc="upper right", fontsize=8)
    ax_k.plot(tr.t, tr.k, lw=0.5, drawstyle="steps-post", label="k (dithered)")
    ax_k.axhline(run.governor.min_k, color="r", lw=0.8, ls=":", label="min k (revisit)")
    ax_k.set_ylabel("tiles / frame")
    ax_k.legend(loc="upper right", fontsize=8)
    ax_f.plot(tr.end, 1.0 / tr.period, lw=0.6, label="fps")
    ax_f.axhline(run.governor.config.min_fps, color="r", lw=0.8, ls=":", label="fps floor")
    ax_f.set_ylabel("frames / s")
    ax_f.set_xlabel("time (s, simulated)")
    ax_f.legend(loc="upper right", fontsize=8)
    fig.savefig(path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schedule", type=pairs, default=pairs("0:6,30:4,60:5,90:2.5,110:6"),
                    help="budget steps, time:watts,...")
    ap.add_argument("--duration", type=float, default=140.0)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--plant", nargs="*", default=[], help="PlantConfig overrides key=value")
    ap.add_argument("--gain", nargs="*", default=[], help="GovernorConfig overrides key=value")
    ap.add_argument("--out", type=Path, default=Path("runs/bench"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    gov = GovernorConfig(**{"budget_w": args.schedule[0][1], **fields(args.gain)})
    runs: dict[bool, list[Run]] = {True: [], False: []}
    log_path = args.out / "governor_stats.jsonl"
    for old in args.out.glob("governor_stats.jsonl*"):
        old.unlink()
    for tracking in (True, False):
        for seed in range(args.seeds):
            plant = PlantConfig(**{**fields(args.plant), "seed": seed})
            with tempfile.TemporaryDirectory() as tmp:
                log = log_path if tracking and seed == 0 else None
                runs[tracking].append(simulate(args.schedule, args.duration, tmp, governor=gov,
                                               plant=plant, log_path=log, tracking=tracking))
    first = runs[True][0]
    print(f"plant: {first.plant.config.model_dump()}")
    print(f"governor: {gov.model_dump()}; min_k={first.governor.min_k} "
          f"max_k={first.governor.max_k}")
    print(f"worst of {args.seeds} seeds; settling = 1 s mean inside +-5 % of the budget\n")
    print("| t (s) | budget W | floor..ceiling W | settle s | mean err % | overshoot % | "
          "saturated % | settle s (no tracking) | mean err % (no tracking) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i, f in enumerate(first.figures):
        a, b = worst(runs[True], i), worst(runs[False], i)
        note = "" if f.feasible else " (infeasible)"
        print(f"| {f.t_s:.0f} | {f.budget_w:g}{note} | {f.floor_w:.2f}..{f.ceiling_w:.2f} | "
              f"{a[0]} | {a[1]} | {a[2]} | {a[3]} | {b[0]} | {b[1]} |")
    k_min = min(int(r.trace.k.min()) for r in runs[True])
    fps_min = min(float((1 / r.trace.period).min()) for r in runs[True])
    print(f"\nfewest tiles in a frame: {k_min} (min_k {first.governor.min_k}); lowest fps: "
          f"{fps_min:.2f} (floor {gov.min_fps:g}); frames simulated: "
          f"{sum(len(r.trace.t) for rs in runs.values() for r in rs)}")
    png = args.out / "governor.png"
    plot(first, png)
    print(f"wrote {png} and {log_path} (specks report {log_path})")
    return 0 if math.isfinite(first.trace.power.mean()) else 1


if __name__ == "__main__":
    sys.exit(main())
