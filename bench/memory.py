"""Peak memory of ``specks run`` before and after a change, side by side in one run (issue 17,
item 9: <= 150 MB for a Pi Zero 2 W class board).

The run is the one the issue measured: the x86-generic profile, the shipped specknet-nano
bundle in LiteRT int8, sparse mode, a looping 1920x1080 clip (``bench/clips.py``'s ``few``
scene, mp4) read without pacing (every frame processed). Two sinks: JSON lines to /dev/null,
and MQTT to a real mosquitto (``tests/firmware_py/sinks/broker.py``) with its on-disk spool.
The baseline is ``--baseline REF`` checked out in a temporary git worktree and run from
there (``python -m firmware_py.cli`` with that tree first on the path); the current tree runs
the same way. Trees alternate run by run, so a machine whose load changes slows both alike.

Per run: the peak RSS (``ru_maxrss`` of ``wait4``: the kernel's high-water mark), the
resident memory per mapping at the highest RSS sampled (``bench/procmem.py``: heap, anon,
files by library), the thread count there, and frames per second over the whole run (start
included). Medians per tree and sink, and the change, are printed and written to
``--out``/memory.json.

    .venv/bin/python bench/memory.py [--baseline main] [--frames 600] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.clips import ensure_scene  # noqa: E402
from bench.procmem import breakdown, reap, status_kb, summarize, threads  # noqa: E402
from tests.firmware_py.sinks.broker import Broker, find_mosquitto  # noqa: E402

SINKS = ("jsonl", "mqtt")


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def run_command(args: argparse.Namespace, sink: str, broker: Broker | None,
                spool: Path) -> list[str]:
    cmd = [sys.executable, "-m", "firmware_py.cli", "run", "--board", "x86-generic",
           "--source", str(args.clip), "--loop", "--no-realtime", "--frames",
           str(args.frames), "--quiet"]
    if sink == "mqtt" and broker is not None:
        return cmd + ["--mqtt", f"mqtt://127.0.0.1:{broker.port}", "--spool-dir", str(spool)]
    return cmd + ["--jsonl", "/dev/null"]


def measure(cmd: list[str], tree: Path, frames: int, sample_s: float = 0.05
            ) -> dict[str, Any]:
    """Run ``cmd`` in ``tree``; its peak, and the mappings at the highest RSS sampled."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    top, mappings, nthreads = 0, {}, 0
    while (done := reap(proc.pid, block=False)) is None:
        rss = status_kb(proc.pid, "VmRSS") or 0
        if rss > top + 256:
            top, found = rss, breakdown(proc.pid)
            if found:
                mappings, nthreads = summarize(found), threads(proc.pid)
        time.sleep(sample_s)
    status, peak = done
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd)} in {tree} exited {status}: "
                           f"{proc.stderr.read().decode()[-2000:]}")
    return {"peak_mb": round(peak / 1024, 1), "sampled_mb": round(top / 1024, 1),
            "threads": nthreads, "fps": round(frames / wall, 1), "wall_s": round(wall, 1),
            "mappings": mappings}


@contextmanager
def worktree(ref: str):
    """A detached git worktree of ``ref``, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="specks-baseline-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), ref], cwd=ROOT,
                   check=True, capture_output=True)
    # compiled once here, as the current tree already is, so neither run pays for it
    subprocess.run([sys.executable, "-m", "compileall", "-q", "firmware_py"], cwd=folder,
                   check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT,
                       check=False, capture_output=True)


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = runs[0]["mappings"].keys()
    return {"peak_mb": statistics.median(r["peak_mb"] for r in runs),
            "fps": round(statistics.median(r["fps"] for r in runs), 1),
            "threads": statistics.median(r["threads"] for r in runs),
            "mappings": {k: statistics.median(r["mappings"].get(k, 0.0) for r in runs)
                         for k in keys}}


def report(results: dict[str, dict[str, list[dict[str, Any]]]], args: argparse.Namespace
           ) -> dict[str, Any]:
    summary: dict[str, Any] = {"cpu": cpu_name(), "frames": args.frames,
                               "baseline": args.baseline, "runs": results, "median": {}}
    for sink in args.sinks:
        before, after = (medians(results[t][sink]) for t in ("baseline", "current"))
        summary["median"][sink] = {"baseline": before, "current": after}
        print(f"\n{sink}: peak RSS {before['peak_mb']:.1f} -> {after['peak_mb']:.1f} MB "
              f"({after['peak_mb'] - before['peak_mb']:+.1f}); fps {before['fps']} -> "
              f"{after['fps']}; threads {before['threads']:g} -> {after['threads']:g}")
        print(f"  {'mapping (MB at the sampled peak)':34s} {'baseline':>9s} {'current':>9s}")
        for key in dict.fromkeys([*before["mappings"], *after["mappings"]]):
            print(f"  {key:34s} {before['mappings'].get(key, 0.0):9.1f} "
                  f"{after['mappings'].get(key, 0.0):9.1f}")
    return summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", default="main", help="git ref measured as 'before'")
    p.add_argument("--frames", type=int, default=600, help="frames per run")
    p.add_argument("--repeats", type=int, default=2, help="runs per tree and sink")
    p.add_argument("--sinks", default=",".join(SINKS), help="jsonl, mqtt or both")
    p.add_argument("--clip", type=Path, default=ROOT / "runs/bench/clips/1920x1080/few")
    p.add_argument("--out", type=Path, default=ROOT / "runs/bench")
    args = p.parse_args()
    args.sinks = [s for s in args.sinks.split(",") if s]
    ensure_scene(args.clip)
    print(f"CPU: {cpu_name()}; {args.frames} frames of {args.clip}, {args.repeats} runs each")
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        t: {s: [] for s in args.sinks} for t in ("baseline", "current")}
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        trees = {"baseline": stack.enter_context(worktree(args.baseline)), "current": ROOT}
        broker = None
        if "mqtt" in args.sinks:
            broker = Broker(find_mosquitto(), Path(tmp))
            broker.start()
            stack.callback(broker.kill)
        for repeat in range(args.repeats):
            for sink in args.sinks:
                for name, tree in trees.items():
                    spool = Path(tmp) / f"spool-{name}-{sink}-{repeat}"
                    r = measure(run_command(args, sink, broker, spool), tree, args.frames)
                    results[name][sink].append(r)
                    print(f"{name:8s} {sink:5s} run {repeat}: peak {r['peak_mb']:.1f} MB, "
                          f"{r['threads']} threads, {r['fps']} fps (start included)")
    summary = report(results, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "memory.json").write_text(json.dumps(summary, indent=1))
    print(f"\nwritten {args.out / 'memory.json'}")


if __name__ == "__main__":
    main()
