"""The arm64 emulation lane's checks (issue 14), run by ``.ci/arm64/lane.sh`` once the arm64
root is mounted and both device venvs exist. Emulated timings mean nothing: correctness only.

For each board core (``QEMU_CPU``) with its board profile:

1. ``specks selftest`` of each shipped bundle, per runtime and precision, inside the root;
   the same on x86 for the comparison column (the verdict is the self-test's own).
2. ``specks run`` of the staged 20-frame clip in sparse mode, once inside the root and once on
   x86, compared frame by frame (``tests/arm64/match.py``): in LiteRT on every core, in
   ExecuTorch on the cores of ``EXECUTORCH_RUN_CORES`` only (its self-tests run on every core; a
   second emulated run per core would double the lane's time for CI, measured). Timing-dependent
   parts are turned off in both, or the runs could not be compared: the power governor (every
   profile has a ``power.budget_w``, and without a sensor it steers by the CPU-time power
   estimate), so the tile budget is the profile's fixed ``sampler.budget``. The sampler is
   seeded. The run is the default one, without ``--prior-bundle``: OpenCV's ``INTER_AREA``
   resize of the lores frame to the saliency net's input is not bit-exact between x86 and
   aarch64 at non-integer ratios (rpi5: 144 of 184,320 values one level apart), and the int8
   csnet-prior turns that into saliency up to 0.5 apart, so the sampler would pick other tiles
   for a reason that is not the board's runtime. csnet-prior is checked by its self-tests
   instead.
3. Every arm64 process: no ``torch`` in ``sys.modules``, no libtorch mapped; peak RSS kept.

The tables are printed and everything is written as JSON (``--out``). Exit code 1 if any
check fails, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.arm64.match import Tolerance, compare_files
from tests.arm64.report import run_table, selftest_figures, selftest_table
from tests.arm64.target import Outcome, Target

log = logging.getLogger("arm64-lane")

# Each board's core, as qemu 7.2 names it, and its profile. The Orin's A78AE has no qemu
# model of its own (neoverse-n1 / cortex-a76 are the closest).
CORES = {"cortex-a53": "rpi-zero2w", "cortex-a57": "jetson-nano", "cortex-a72": "rpi4",
         "cortex-a76": "rpi5"}
# The runtimes checked (``specks selftest --runtimes R`` and ``runtime.prefer=R`` select one);
# a new runtime is one more name here.
RUNTIMES = ("litert", "executorch")
BUNDLES = ("specknet-nano", "csnet-prior")
PRECISIONS = ("int8", "fp32")
FRAMES = 20
# The cores whose ExecuTorch ``specks run`` is compared too (the Pi 5's, the newest core)
EXECUTORCH_RUN_CORES = ("cortex-a76",)
DETERMINISTIC = ("power.budget_w=null",)  # the governor off: see the module docstring


@functools.cache
def bundle_paths(target: Target) -> dict[str, str]:
    """The shipped bundles inside the installed wheel (``firmware_py.shipped``), by name, as
    the target sees them: the board profiles and the zoo key come from the package too, so
    the commands name only the profile."""
    out = target.python("from firmware_py.shipped import ZOO_BUNDLES; print(ZOO_BUNDLES)")
    return {name: f"{out.strip()}/{name}" for name in BUNDLES}


def _sets(items: tuple[str, ...]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def selftest(target: Target, profile: str, bundle: str, runtime: str, precision: str
             ) -> dict[str, Any]:
    out = target.specks(["selftest", bundle_paths(target)[bundle], "--board", profile,
                         "--runtimes", runtime, "--json",
                         *_sets((f"runtime.prefer={runtime}", f"runtime.precision={precision}"))],
                        f"{profile}-selftest-{bundle}-{runtime}-{precision}")
    result = out.last_json()
    error = None if result else out.error()
    if result and (result["runtime"], result["precision"]) != (runtime, precision):
        error = f"ran {result['artifact']} instead of a {runtime} {precision} artifact"
    return {"bundle": bundle, "runtime": runtime, "precision": precision, "rc": out.rc,
            "passed": out.rc == 0 and error is None and bool(result["passed"]),
            "error": error, "result": result, "probe": out.record}


def run(target: Target, profile: str, runtime: str) -> tuple[Outcome, Path]:
    jsonl = f"out/{target.name}/{profile}-run-{runtime}.jsonl"
    out = target.specks(["run", "--board", profile, "--source",  # the shipped specknet-nano
                         target.path("clip"), "--mode", "sparse", "--no-realtime", "--frames",
                         str(FRAMES), "--jsonl", target.path(jsonl), "--quiet",
                         *_sets((*DETERMINISTIC, f"runtime.prefer={runtime}"))],
                        f"{profile}-run-{runtime}")
    return out, target.host_dir / jsonl


def torch_problems(record: dict[str, Any] | None) -> list[str]:
    if record is None:
        return ["no probe record (the process died)"]
    problems = []
    if record["torch_modules"]:
        problems.append(f"imported {', '.join(record['torch_modules'][:3])}")
    if record["libtorch_mapped"]:
        problems.append(f"mapped {', '.join(record['libtorch_mapped'])}")
    return problems


def compare_run(board: tuple[Outcome, Path], x86: tuple[Outcome, Path], runtime: str,
                tol: Tolerance) -> dict[str, Any]:
    (out, jsonl), (ref, ref_jsonl) = board, x86
    problems = [f"{side} exit code {o.rc}: {o.error()}" for side, o in (("arm64", out),
                                                                        ("x86", ref)) if o.rc]
    problems += torch_problems(out.record)
    match = None
    if jsonl.exists() and ref_jsonl.exists():
        match = compare_files(ref_jsonl, jsonl, tol).to_dict()
        if match["frames_reference"] != FRAMES:
            problems.append(f"x86 ran {match['frames_reference']} frames, not {FRAMES}")
        if not match["agree"]:
            problems.append(f"{match['missing']} missing, {match['extra']} extra, frames "
                            f"{match['frames_board']}/{match['frames_reference']}")
    else:
        problems.append("no detections file")
    return {"runtime": runtime, "match": match, "problems": problems, "passed": not problems,
            "peak_rss_mb": (out.record or {}).get("peak_rss_mb"),
            "x86_peak_rss_mb": (ref.record or {}).get("peak_rss_mb"),
            "probe": out.record, "x86_probe": ref.record}


def check_core(core: str, profile: str, arm: Target, x86: Target, runtimes: tuple[str, ...],
               tol: Tolerance) -> dict[str, Any]:
    start = time.monotonic()
    selftests = []
    for bundle in BUNDLES:
        for runtime in runtimes:
            for precision in PRECISIONS:
                mine = selftest(arm, profile, bundle, runtime, precision)
                ref = selftest(x86, profile, bundle, runtime, precision)
                problems = torch_problems(mine["probe"])
                mine.update(figures=selftest_figures(mine, ref), x86_passed=ref["passed"],
                            passed=mine["passed"] and not problems)
                mine["error"] = "; ".join(filter(None, [mine["error"], *problems])) or None
                selftests.append(mine)
                log.info("%s selftest %s %s %s: %s %s", core, bundle, runtime, precision,
                         "pass" if mine["passed"] else "FAIL", mine["error"] or
                         f"(least margin {mine['figures']['min_margin']})")
    runs = [compare_run(run(arm, profile, rt), run(x86, profile, rt), rt, tol)
            for rt in runtimes if rt != "executorch" or core in EXECUTORCH_RUN_CORES]
    for r in runs:
        log.info("%s run %s: %s", core, r["runtime"], "pass" if r["passed"] else r["problems"])
    features = next((t["probe"]["cpu_features"] for t in selftests if t["probe"]), None)
    return {"core": core, "profile": profile, "cpu_features": features,
            "selftests": selftests, "runs": runs,
            "passed": all(t["passed"] for t in selftests) and all(r["passed"] for r in runs),
            "seconds": round(time.monotonic() - start, 1)}


def _list(text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in items if t not in allowed]
    if not items or bad:
        raise argparse.ArgumentTypeError(f"choose from {','.join(allowed)}; got {text!r}")
    return items


def _seconds(text: str) -> dict[str, int]:
    pairs = (item.split("=", 1) for item in text.split(",") if item)
    return {key: int(value) for key, value in pairs}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="arm64-lane", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, required=True, help="the mounted arm64 root")
    p.add_argument("--guest-dir", default="/opt/specks-lane", help="staged files in the root")
    p.add_argument("--x86-venv", type=Path, required=True, help="the x86 device venv")
    p.add_argument("--out", type=Path, required=True, help="JSON report")
    p.add_argument("--cores", type=lambda t: _list(t, tuple(CORES)), default=tuple(CORES))
    p.add_argument("--runtimes", type=lambda t: _list(t, ("litert", "executorch")),
                   default=RUNTIMES)
    p.add_argument("--jobs", type=int, default=1, choices=range(1, 5),
                   help="cores checked at once (each emulated process is one host process)")
    p.add_argument("--setup-seconds", type=_seconds, default={},
                   help="lane.sh's phase times, key=seconds,...")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    tol = Tolerance()
    start = time.monotonic()
    staged = args.root / args.guest_dir.lstrip("/")
    x86 = Target.x86(args.x86_venv, staged)
    with ThreadPoolExecutor(args.jobs) as pool:
        cores = list(pool.map(lambda core: check_core(
            core, CORES[core], Target.arm64(args.root, args.guest_dir, core), x86,
            args.runtimes, tol), args.cores))
    report = {"passed": all(c["passed"] for c in cores), "cores": cores,
              "runtimes": list(args.runtimes), "frames": FRAMES,
              "tolerance": {"min_iou": tol.min_iou, "max_score_diff": tol.max_score_diff},
              "overrides": list(DETERMINISTIC), "setup_seconds": args.setup_seconds,
              "checks_seconds": round(time.monotonic() - start, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(selftest_table(cores), run_table(cores), sep="\n\n")
    print(f"\narm64 lane: {'passed' if report['passed'] else 'FAILED'}; report {args.out}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
