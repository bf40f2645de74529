"""Interrupted exports leave nothing behind: real processes, real signals."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# a process that stages a bundle and stays inside the staging until it is signalled; Ctrl-C
# and a hang-up reach it as in a terminal even when the suite runs as a background job (whose
# shell starts it with SIGINT ignored) or under nohup (SIGHUP ignored), ignores that the
# staging respects; argv[2] == "nohup" keeps SIGHUP ignored
STAGE = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGHUP, signal.SIG_IGN if sys.argv[2:] == ["nohup"] else signal.SIG_DFL)
from export.bundle import staging
with staging(sys.argv[1]) as root:
    (root / "model.tflite").write_bytes(b"partial")
    print("staged", flush=True)
    time.sleep(120)
"""


def _entries(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def _staged(parent: Path, timeout: float) -> bool:
    """Wait until a staging folder exists under ``parent``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.name.endswith(".tmp") for p in parent.iterdir()):
            return True
        time.sleep(0.2)
    return False


def _stage(dest: Path, *flags: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", STAGE, str(dest), *flags], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "staged"
    return proc


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 128 + signal.SIGTERM),
                                           (signal.SIGHUP, 128 + signal.SIGHUP),
                                           (signal.SIGINT, None)])
def test_signal_inside_staging_removes_it(tmp_path, sig, code) -> None:
    proc = _stage(tmp_path / "bundle")
    assert any(n.endswith(".tmp") for n in _entries(tmp_path))
    proc.send_signal(sig)
    returncode = proc.wait(timeout=30)
    assert returncode != 0 and (code is None or returncode == code)
    assert _entries(tmp_path) == []


def test_an_ignored_hangup_stays_ignored(tmp_path) -> None:
    """Under nohup a hang-up does not end the export; SIGTERM still cleans up."""
    proc = _stage(tmp_path / "bundle", "nohup")
    proc.send_signal(signal.SIGHUP)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert _entries(tmp_path) == []


def test_next_export_removes_what_a_killed_one_left(tmp_path) -> None:
    """SIGKILL cannot be caught; the next staging of the same destination sweeps its debris,
    and leaves a live writer's staging alone."""
    from export.bundle import staging

    dead = _stage(tmp_path / "bundle")
    dead.kill()
    dead.wait(timeout=30)
    (debris,) = _entries(tmp_path)
    assert debris.startswith(f".bundle.{dead.pid}.") and debris.endswith(".tmp")
    live = _stage(tmp_path / "bundle")
    try:
        (staged,) = _entries(tmp_path)
        assert staged.startswith(f".bundle.{live.pid}.")
        with staging(tmp_path / "bundle") as root:
            (root / "model.tflite").write_bytes(b"complete")
        left = _entries(tmp_path)
        assert "bundle" in left and len(left) == 2  # the bundle and the live writer's staging
        assert f".bundle.{live.pid}." in next(n for n in left if n != "bundle")
    finally:
        live.terminate()
        live.wait(timeout=30)
    assert _entries(tmp_path) == ["bundle"]


def test_packing_removes_the_tar_a_killed_export_left(tmp_path) -> None:
    """A SIGKILLed ``--tar`` leaves its temp ``.tar``; the next pack of that tar sweeps it and
    leaves a live writer's alone."""
    from export.bundle import pack_bundle

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "model.tflite").write_bytes(b"complete")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    debris = tmp_path / f".bundle.tar.{dead.stdout.strip()}.0badf00d.tmp"
    live = tmp_path / f".bundle.tar.{os.getpid()}.0badf00d.tmp"
    debris.write_bytes(b"half a tar")
    live.write_bytes(b"being written")
    assert pack_bundle(bundle) == tmp_path / "bundle.tar"
    assert _entries(tmp_path) == [live.name, "bundle", "bundle.tar"]
