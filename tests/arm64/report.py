"""The lane's per-core tables: self-test figures and detection-match figures with peak RSS.

Self-test rows show every check of the self-test (``firmware_py.agreement``: metric, value
on the board, tolerance; the margin is their distance, each in the metric's own unit) and the
largest difference of any check's value between the board and x86: 0 means the board computes
what x86 computes, whatever the golden verdict. Run rows show
the frame-by-frame match against x86 (``tests/arm64/match.py``) and the peak RSS of each
side; the arm64 figure is qemu-user's process (guest plus translator), an upper bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _checks(result: Mapping[str, Any] | None) -> str:
    """Each self-test check as ``metric value/tolerance``, ``!`` marking a failed one."""
    if not result or not result.get("checks"):
        return "-"
    return " ".join(f"{c['metric']} {c['value']:.4g}/{c['tolerance']:.4g}"
                    f"{'' if c['passed'] else '!'}" for c in result["checks"])


def selftest_figures(board: Mapping[str, Any], x86: Mapping[str, Any]) -> dict[str, Any]:
    """The largest difference of any check's value between the board and x86, and the
    smallest margin on each side (in the metric's own unit)."""
    mine, ref = board.get("result"), x86.get("result")
    diff = None
    if mine and ref:
        theirs = {c["metric"]: c["value"] for c in ref["checks"]}
        if set(theirs) == {c["metric"] for c in mine["checks"]}:
            diff = max((abs(c["value"] - theirs[c["metric"]]) for c in mine["checks"]),
                       default=0.0)

    def least(result: Mapping[str, Any] | None) -> float | None:
        return min((c["margin"] for c in result["checks"]), default=None) if result else None

    return {"max_diff_vs_x86": diff, "min_margin": least(mine), "x86_min_margin": least(ref)}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def selftest_table(cores: Sequence[Mapping[str, Any]]) -> str:
    head = (f"{'core':<11} {'bundle':<14} {'rt':<10} {'prec':<5} {'diff x86':>8}  "
            f"result  checks (value/tolerance on the board)")
    rows = [head, "-" * len(head)]
    for core in cores:
        for t in core["selftests"]:
            error = (t.get("error") or "").rpartition(f"{t['bundle']}: ")[2]
            verdict = "pass  " if t["passed"] else "FAIL  "
            rows.append(f"{core['core']:<11} {t['bundle']:<14} {t['runtime']:<10} "
                        f"{t['precision']:<5} {_fmt(t['figures']['max_diff_vs_x86'], '.1e'):>8}"
                        f"  {verdict}{_checks(t['result']) if t['result'] else error[:80]}")
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
