"""``specks report``: a stats log (every rotated part, oldest first) to plots and a summary.

Figures of the summary, from the per-period records of
:mod:`firmware_py.telemetry.emitter` (choices of ours): ``duration_s`` is the sum of the
records' ``period_s`` and the plots' time axis is its running sum (a board without a
real-time clock may jump its wall clock at boot, and the monotonic clock restarts with the
process); ``mean_power_w`` is time-weighted (each record's period mean weighted by its
period) and ``p95_power_w`` is over the period means; ``joules_per_frame`` is the energy of
the periods with a power reading over their frames; latency percentiles come from the summed
:mod:`firmware_py.telemetry.loghist` histograms, so they are over every frame, to within a
bin (12 %); ``time_over_budget_s`` counts the periods whose mean is more than 5 % above the
budget in force (``budget_w``, which the governor's gauges put in the records). matplotlib
(the report's only extra need) is imported when the plots are drawn, with the Agg canvas and
no pyplot state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from firmware_py.telemetry import loghist
from firmware_py.telemetry.statslog import StatsLogError, read_stats

HIST = "_hist"
OVER_MARGIN = 0.05  # time over budget counts periods more than 5 % above it


def _float(record: dict[str, Any], key: str) -> float | None:
    value = record.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def histograms(records: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The summed histogram of each observed name (``infer_ms``, ...) over the records."""
    out: dict[str, np.ndarray] = {}
    for i, record in enumerate(records):
        for key, text in record.items():
            if key.endswith(HIST):
                try:
                    counts = loghist.decode(text or "")
                except ValueError as e:
                    raise StatsLogError(f"record {i + 1}, field '{key}': {e}") from None
                name = key.removesuffix(HIST)
                out[name] = out[name] + counts if name in out else counts
    return out


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The summary figures of a log's records (see the module notes)."""
    periods = np.array([_float(r, "period_s") or 0.0 for r in records])
    power = np.array([np.nan if (p := _float(r, "power_w")) is None else p for r in records])
    budget = np.array([np.nan if (b := _float(r, "budget_w")) is None else b for r in records])
    frames = np.array([_float(r, "frames") or 0.0 for r in records])
    measured = ~np.isnan(power)
    powered_time = float(periods[measured].sum())
    energy = float((power[measured] * periods[measured]).sum())
    powered_frames = float(frames[measured].sum())
    over = measured & ~np.isnan(budget) & (power > budget * (1 + OVER_MARGIN))
    sources = sorted({str(r["power_source"]) for r in records if r.get("power_source")})
    summary: dict[str, Any] = {
        "records": len(records), "duration_s": float(periods.sum()),
        "frames": int(frames.sum()),
        "mean_power_w": energy / powered_time if powered_time > 0 else None,
        "p95_power_w": float(np.percentile(power[measured], 95)) if measured.any() else None,
        "energy_j": energy if measured.any() else None,
        "joules_per_frame": energy / powered_frames if powered_frames else None,
        "power_source": ", ".join(sources) or None,
        "estimated": any(r.get("power_estimated") is True for r in records),
        "time_over_budget_s": float(periods[over].sum()) if (~np.isnan(budget)).any() else None,
        "latency_ms": {},
    }
    for name, counts in sorted(histograms(records).items()):
        summary["latency_ms"][name] = {"frames": int(counts.sum()),
                                       "p50": loghist.percentile(counts, 50),
                                       "p95": loghist.percentile(counts, 95)}
    return summary


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def markdown(summary: dict[str, Any], log: str) -> str:
    """The summary as a short markdown section."""
    lines = [f"# Power and FPS report: `{log}`", "",
             f"- duration: {_fmt(summary['duration_s'], 4)} s over {summary['records']} "
             f"records, {summary['frames']} frames",
             f"- power: mean {_fmt(summary['mean_power_w'])} W, p95 {_fmt(summary['p95_power_w'])}"
             f" W ({summary['power_source'] or 'no sensor'}"
             f"{', estimated' if summary['estimated'] else ''})",
             f"- energy: {_fmt(summary['energy_j'], 4)} J, "
             f"{_fmt(summary['joules_per_frame'])} J/frame",
             f"- time more than {100 * OVER_MARGIN:g} % over budget: "
             f"{_fmt(summary['time_over_budget_s'])} s", ""]
    if summary["latency_ms"]:
        lines += ["| latency | frames | p50 ms | p95 ms |", "|---|---|---|---|"]
        lines += [f"| {name} | {v['frames']} | {_fmt(v['p50'])} | {_fmt(v['p95'])} |"
                  for name, v in summary["latency_ms"].items()]
    return "\n".join(lines) + "\n"


def _series(records: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if (v := _float(r, key)) is None else v for r in records])


def plot(records: Sequence[dict[str, Any]], out: Path) -> list[Path]:
    """Writes ``power.png`` (power vs budget), ``fps.png`` and ``latency.png``; returns them."""
    from matplotlib.figure import Figure

    t = np.cumsum([_float(r, "period_s") or 0.0 for r in records])
    paths = []
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    ax = fig.subplots()
    for key, style in (("power_w", "-"), ("budget_w", "--")):
        if not np.isnan(series := _series(records, key)).all():
            ax.plot(t, series, style, label=key.replace("_w", " (W)"))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("W")
    ax.set_title("power vs budget (period means)")
    ax.legend(loc="best", fontsize=8)
    paths.append(_save(fig, out / "power.png"))
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    ax = fig.subplots()
    for key in ("camera_fps", "inference_fps", "skipped_fps"):
        if not np.isnan(series := _series(records, key)).all():
            ax.plot(t, series, label=key)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frames / s")
    ax.set_title("frame rates")
    ax.legend(loc="best", fontsize=8)
    paths.append(_save(fig, out / "fps.png"))
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    ax = fig.subplots()
    edges = loghist.edges()
    for name, counts in sorted(histograms(records).items()):
        ax.stairs(counts, edges, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("ms")
    ax.set_ylabel("frames")
    ax.set_title("latency histogram (all frames)")
    ax.legend(loc="best", fontsize=8)
    paths.append(_save(fig, out / "latency.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path


def report(log: str | Path, out: str | Path) -> tuple[dict[str, Any], str, list[Path]]:
    """Read ``log``, write the plots, ``summary.md`` and ``summary.json`` into ``out``;
    returns the summary, its markdown and the written files."""
    records = read_stats(log)
    if not records:
        raise StatsLogError(f"{log}: no stats records")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(records)
    text = markdown(summary, str(log))
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    files = plot(records, out) + [out / "summary.md", out / "summary.json"]
    return summary, text, files
