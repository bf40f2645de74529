"""Interrupted flashes: run ``specks flash`` as a real process, SIGKILL its process group at a
random moment, then check the device still has a valid, loadable ``current`` bundle
(signature and hashes verified, golden self-test passed in LiteRT). Used by the tests and by
``bench/flash.py``.

A local target runs the device install inside the killed process, so the kill lands inside
the copy, the self-test or the link switch. Over SSH the kill drops the connection while the
copy or the remote install runs; a remote install that outlives it is waited for (never
killed) before the device is checked.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from firmware_py.board import load_board
from firmware_py.device import load_trusted_keys
from firmware_py.device.selftest import selftest
from firmware_py.device.slots import Layout, bundle_version
from firmware_py.verify import verify_bundle


def flash_argv(specks: str, bundle: Path, dest: str, keys: Path,
               ssh_config: Path | None = None) -> list[str]:
    argv = [specks, "flash", str(bundle), "--to", dest, "--trusted-keys", str(keys),
            "--board", "x86-generic", "--no-restart", "--json"]
    if ssh_config is not None:
        argv += ["-F", str(ssh_config), "--specks", specks]
    return argv


def device_processes(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker`` (a test's own root)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and "device install" in cmdline:
            pids.append(int(entry.name))
    return pids


def wait_quiet(root: Path, timeout: float = 120.0) -> None:
    """Wait until no install on ``root`` is running (an orphan of a dropped ssh session)."""
    deadline = time.monotonic() + timeout
    while device_processes(str(root)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"an install on {root} is still running after {timeout} s")
        time.sleep(0.1)


def check_device(root: Path, keys: Path) -> str:
    """The version of the current bundle; raises unless it verifies and passes the self-test."""
    current = Layout(root).current.resolve(strict=True)
    verify_bundle(current, load_trusted_keys(keys))
    if not selftest(current, load_board("x86-generic")).passed:
        raise AssertionError(f"{current}: self-test failed")
    return bundle_version(current)


def flash_once(argv: list[str], kill_after: float | None) -> tuple[bool, float]:
    """Run a flash; SIGKILL its process group after ``kill_after`` seconds if still running.
    Returns (killed before it finished, seconds). The flash gets its own ``TMPDIR``, removed
    here: a SIGKILLed process cannot remove its temporary files (the ssh control folder)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="specks-trial-") as scratch:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, "TMPDIR": scratch})
        try:
            process.wait(kill_after)
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            killed = True
    return killed, time.perf_counter() - start


@dataclass
class TrialSummary:
    trials: int = 0
    interrupted: int = 0
    survived: int = 0
    versions: set[str] = field(default_factory=set)


def run_trials(targets: list[tuple[list[str], list[str], Path]], keys: Path, count: int,
               seed: int, min_interrupted: int = 0) -> TrialSummary:
    """``targets``: (argv flashing v1, argv flashing v2, device root), each already holding a
    bundle. Trial ``i`` flashes alternately v1/v2 to a target and kills it at a uniformly
    random moment within one uninterrupted flash's duration, then checks the device. Trials
    go on past ``count`` (up to ``3 * count``) until ``min_interrupted`` were killed: a flash
    that runs faster than when its duration was measured (the machine's load fell) finishes
    before its kill more often."""
    rng = random.Random(seed)
    durations = {}
    for argv_v1, argv_v2, root in targets:
        flash_once(argv_v2, None)
        durations[root] = flash_once(argv_v1, None)[1]
        wait_quiet(root)
    summary = TrialSummary()
    for i in range(3 * count):
        if summary.trials >= count and summary.interrupted >= min_interrupted:
            break
        argv_v1, argv_v2, root = targets[i % len(targets)]
        argv = argv_v2 if (i // len(targets)) % 2 == 0 else argv_v1
        killed, _ = flash_once(argv, rng.uniform(0.0, durations[root]))
        wait_quiet(root)
        summary.versions.add(check_device(root, keys))
        summary.trials += 1
        summary.interrupted += killed
        summary.survived += 1
    return summary
