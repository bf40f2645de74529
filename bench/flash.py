"""Flashing figures, measured in one run against real OpenSSH servers on 127.0.0.1:

1. interrupted flashes: ``--trials`` flashes (local and over ssh) SIGKILLed at random
   moments; after each, the device's current bundle must verify and pass its self-test;
2. refusals: every bad bundle of ``tests.firmware_py.device.bundles.REFUSALS`` plus a full
   disk on the target (a small tmpfs, if mountable) flashed over ssh; each must be refused
   with its message and leave the device's slots byte-for-byte unchanged;
3. flash time of one bundle over loopback ssh (median of ``--repeats`` real installs);
4. a fleet of ``--hosts`` targets, one sshd each: parallel vs sequential, interleaved rounds,
   ratio of the medians.

    .venv/bin/python bench/flash.py [--trials 50] [--hosts 4] [--repeats 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export.flash.flash import FlashOptions, flash  # noqa: E402
from export.flash.fleet import Fleet, FleetHost, flash_fleet  # noqa: E402
from firmware_py.device.slots import Layout  # noqa: E402
from tests.bundles import make_bundle  # noqa: E402
from tests.export.flash.sshd import Sshd  # noqa: E402
from tests.export.flash.trials import flash_argv, run_trials  # noqa: E402
from tests.firmware_py.device.bundles import REFUSALS, resign  # noqa: E402

SPECKS = str(Path(sys.executable).parent / "specks")


def options(server: Sshd, keys: Path) -> FlashOptions:
    return FlashOptions(board="x86-generic", trusted_keys=str(keys), restart=False,
                        ssh_config=str(server.client_config), specks=SPECKS)


def slots_state(root: Path) -> dict:
    layout = Layout(root)
    return {"current": layout.linked_slot(layout.current),
            "files": {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                      if p.is_file() and "slots" in p.parts}}


def bundles(work: Path) -> dict[str, Path]:
    _, private, public = make_bundle(work / "v1", work / "signer")
    keys = work / "trusted"
    keys.mkdir()
    shutil.copy(public, keys / "signer.pub")
    return {"v1": work / "v1", "v2": resign(work / "v1", work / "v2", private,
                                            metrics={"version": 2}),
            "keys": keys, "private": private}


def interrupted(server: Sshd, b: dict, work: Path, count: int) -> dict:
    targets = []
    for name, remote in (("local", False), ("ssh", True)):
        root = work / f"trial-{name}"
        dest = server.url(root) if remote else str(root)
        config = server.client_config if remote else None
        flash(b["v1"], dest, options(server, b["keys"]))
        targets.append((flash_argv(SPECKS, b["v1"], dest, b["keys"], config),
                        flash_argv(SPECKS, b["v2"], dest, b["keys"], config), root))
    summary = run_trials(targets, b["keys"], count, seed=2024)
    return {"trials": summary.trials, "interrupted": summary.interrupted,
            "survived": summary.survived}


def _disk_full(server: Sshd, b: dict, work: Path) -> bool | None:
    point = work / "sd"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(point)],
                      capture_output=True).returncode != 0:
        return None
    try:
        assert flash(b["v1"], server.url(point), options(server, b["keys"])).ok
        used = sum(p.stat().st_blocks * 512 for p in point.rglob("*") if p.is_file())
        subprocess.run(["mount", "-o", f"remount,size={used + 8192}", str(point)], check=True)
        before = slots_state(point)
        result = flash(b["v2"], server.url(point), options(server, b["keys"]))
        return "No space left" in result.message and slots_state(point) == before
    finally:
        subprocess.run(["umount", str(point)], check=False)


def refusals(server: Sshd, b: dict, work: Path) -> dict:
    root = work / "refusals"
    flash(b["v1"], server.url(root), options(server, b["keys"]))
    verified = {}
    for name, (make, message) in sorted(REFUSALS.items()):
        bad = make(b["v2"], work / f"bad-{name.replace(' ', '-')}", b["private"])
        before = slots_state(root)
        result = flash(bad, server.url(root), options(server, b["keys"]))
        verified[name] = (result.result == "refused" and message in result.message
                          and slots_state(root) == before)
    full = _disk_full(server, b, work)
    if full is not None:
        verified["disk full during copy"] = full
    return {"cases": len(verified), "verified": sum(verified.values()), "detail": verified}


def flash_time(server: Sshd, b: dict, work: Path, repeats: int) -> dict:
    dest = server.url(work / "timed")
    times = []
    for i in range(repeats + 1):
        result = flash(b["v2" if i % 2 == 0 else "v1"], dest, options(server, b["keys"]))
        assert result.result == "installed", result.message
        times.append(result.seconds)
    times = times[1:]  # the first install creates the layout
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def fleet_ratio(servers: list[Sshd], b: dict, work: Path, repeats: int) -> dict:
    hosts = tuple(FleetHost(name=f"host{i}", dest=s.url(work / f"fleet{i}"),
                            board="x86-generic", ssh_config=str(s.client_config))
                  for i, s in enumerate(servers))
    cli = {"specks": SPECKS, "restart": False, "trusted_keys": str(b["keys"])}
    quiet = Console(file=io.StringIO())
    times: dict[str, list[float]] = {"sequential": [], "parallel": []}
    flashes = 0
    for _ in range(repeats):  # interleaved rounds; each flash installs the other version
        for mode, parallel in (("sequential", 1), ("parallel", len(hosts))):
            bundle = b["v1" if flashes % 2 == 0 else "v2"]
            flashes += 1
            start = time.perf_counter()
            results = flash_fleet(bundle, Fleet(hosts=hosts, parallel=parallel), cli,
                                  console=quiet)
            times[mode].append(time.perf_counter() - start)
            assert all(r.result == "installed" for _, r in results), \
                [r.message for _, r in results]
    seq, par = statistics.median(times["sequential"]), statistics.median(times["parallel"])
    return {"hosts": len(hosts), "sequential_s": seq, "parallel_s": par, "speedup": seq / par}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-flash-") as tmp, \
            contextlib.ExitStack() as stack:
        work = Path(tmp)
        servers = [stack.enter_context(Sshd(work / f"sshd{i}")) for i in range(args.hosts)]
        b = bundles(work / "bundles")
        figures["interrupted"] = interrupted(servers[0], b, work, args.trials)
        figures["refusals"] = refusals(servers[0], b, work)
        figures["flash_time"] = flash_time(servers[0], b, work, args.repeats)
        figures["fleet"] = fleet_ratio(servers, b, work, args.repeats)
    i, r, t, f = (figures[k] for k in ("interrupted", "refusals", "flash_time", "fleet"))
    print(f"interrupted flashes: {i['trials']} trials, {i['interrupted']} killed mid-flash, "
          f"{i['survived']}/{i['trials']} left a valid loadable current bundle")
    print(f"refusals verified:   {r['verified']}/{r['cases']} "
          f"({', '.join(k for k, ok in r['detail'].items() if ok)})")
    print(f"flash over loopback ssh: median {t['median_s']:.2f} s "
          f"(min {t['min_s']:.2f}, max {t['max_s']:.2f})")
    print(f"fleet of {f['hosts']} sshd targets: sequential {f['sequential_s']:.2f} s, "
          f"parallel {f['parallel_s']:.2f} s, speed-up x{f['speedup']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
