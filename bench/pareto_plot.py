"""The Pareto plot of ``bench/pareto.py``: one panel per (accuracy metric, runtime), int8
latency on x, accuracy on y, every design a labelled point, the front (``row['front']``)
joined by a step line; peers (YOLO) drawn as squares. Matplotlib's Agg backend (no display).
"""

from __future__ import annotations

from pathlib import Path

METRICS = ("AP_small", "mAP50-95")
RUNTIMES = {"tflite": "LiteRT", "pte": "ExecuTorch"}


def plot(rows: list[dict], png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(METRICS), len(RUNTIMES), figsize=(12, 9), squeeze=False)
    for i, metric in enumerate(METRICS):
        for j, (fmt, runtime) in enumerate(RUNTIMES.items()):
            _panel(axes[i][j], rows, metric, fmt)
            axes[i][j].set_xlabel(f"{runtime} int8 latency, ms")
            axes[i][j].set_ylabel(f"held-out {metric}")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)


def _panel(ax, rows: list[dict], metric: str, fmt: str) -> None:
    points = [r for r in rows if fmt in r.get("ms", {}) and r.get(metric) is not None]
    front = sorted((r for r in points if r.get("front", {}).get(f"{metric}/{fmt}")),
                   key=lambda r: r["ms"][fmt])
    for r in points:
        peer = r["design"].startswith("yolo")
        on_front = r in front
        ax.scatter(r["ms"][fmt], r[metric], marker="s" if peer else "o",
                   s=60 if on_front else 30, edgecolors="black" if on_front else "none",
                   color="tab:red" if peer else "tab:blue", zorder=3)
        suffix = "" if r.get("timed_here", {}).get(fmt, True) else " (other run)"
        ax.annotate(r["design"] + suffix, (r["ms"][fmt], r[metric]), fontsize=7,
                    xytext=(4, 3), textcoords="offset points")
    if front:
        ax.step([r["ms"][fmt] for r in front], [r[metric] for r in front], where="post",
                color="tab:green", linewidth=1, label="Pareto front", zorder=2)
        ax.legend(loc="lower right", fontsize=7)
    ax.grid(alpha=0.3)
