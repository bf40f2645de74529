"""The lane's per-core tables: self-test figures and detection-match figures with peak RSS.

Self-test rows show, per output set, the worst cosine to the golden output and the worst
``max|d| / allowed`` (above 1 fails), next to the x86 figures of the same artifact: equal
figures mean the board computes what x86 computes, whatever the golden verdict. Run rows show
the frame-by-frame match against x86 (``tests/arm64/match.py``) and the peak RSS of each
side; the arm64 figure is qemu-user's process (guest plus translator), an upper bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _worst(result: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """(lowest cosine, highest max|d|/allowed) over a self-test result's outputs."""
    if not result or not result.get("outputs"):
        return None
    outputs = result["outputs"]
    return (min(o["cosine"] for o in outputs),
            max(o["max_abs_error"] / max(o["allowed_abs_error"], 1e-12) for o in outputs))


def selftest_figures(board: Mapping[str, Any], x86: Mapping[str, Any]) -> dict[str, Any]:
    """The worst figures on both sides and their largest difference per output."""
    mine, ref = board.get("result"), x86.get("result")
    diff = None
    if mine and ref and len(mine["outputs"]) == len(ref["outputs"]):
        diff = max(max(abs(a["cosine"] - b["cosine"]), abs(a["max_abs_error"] -
                                                         b["max_abs_error"]))
                   for a, b in zip(mine["outputs"], ref["outputs"], strict=True))
    return {"worst": _worst(mine), "x86_worst": _worst(ref), "max_diff_vs_x86": diff}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def selftest_table(cores: Sequence[Mapping[str, Any]]) -> str:
    head = (f"{'core':<11} {'bundle':<14} {'rt':<10} {'prec':<5} {'cos':>8} {'d/allow':>8} "
            f"{'x86 cos':>8} {'x86 d/a':>8} {'diff':>8}  result")
    rows = [head, "-" * len(head)]
    for core in cores:
        for t in core["selftests"]:
            f = t["figures"]
            worst, ref = f["worst"] or (None, None), f["x86_worst"] or (None, None)
            verdict = "pass" if t["passed"] else f"FAIL {t.get('error') or ''}".strip()
            rows.append(f"{core['core']:<11} {t['bundle']:<14} {t['runtime']:<10} "
                        f"{t['precision']:<5} {_fmt(worst[0], '.5f'):>8} "
                        f"{_fmt(worst[1], '.3f'):>8} {_fmt(ref[0], '.5f'):>8} "
                        f"{_fmt(ref[1], '.3f'):>8} {_fmt(f['max_diff_vs_x86'], '.1e'):>8}  "
                        f"{verdict}")
    return "\n".join(rows)


def run_table(cores: Sequence[Mapping[str, Any]]) -> str:
    head = (f"{'core':<11} {'profile':<11} {'rt':<10} {'frames':>6} {'boxes x86/arm':>13} "
            f"{'match':>5} {'miss':>4} {'extra':>5} {'minIoU':>6} {'maxdS':>6} "
            f"{'RSS arm':>7} {'RSS x86':>7}  result")
    rows = [head, "-" * len(head)]
    for core in cores:
        for r in core["runs"]:
            m = r.get("match") or {}
            frames = f"{m.get('frames_board', '-')}"
            boxes = f"{m.get('boxes_reference', '-')}/{m.get('boxes_board', '-')}"
            verdict = "pass" if r["passed"] else "FAIL " + "; ".join(r["problems"])
            rows.append(f"{core['core']:<11} {core['profile']:<11} {r['runtime']:<10} "
                        f"{frames:>6} {boxes:>13} {m.get('matched', '-'):>5} "
                        f"{m.get('missing', '-'):>4} {m.get('extra', '-'):>5} "
                        f"{_fmt(m.get('min_iou'), '.3f'):>6} "
                        f"{_fmt(m.get('max_score_diff'), '.3f'):>6} "
                        f"{_fmt(r.get('peak_rss_mb'), '.0f'):>7} "
                        f"{_fmt(r.get('x86_peak_rss_mb'), '.0f'):>7}  {verdict}")
    return "\n".join(rows)
