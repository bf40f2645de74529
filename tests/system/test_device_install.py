"""A device installed as a user installs it: the wheel built from this tree, into a fresh venv
with the device extra only (no torch), run from outside the checkout. Board profiles, the zoo
key and the shipped bundles must come from the package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BOARDS = {"rpi5", "rpi4", "rpi-zero2w", "jetson-orin-nano", "jetson-nano", "x86-generic"}


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"venv", "specks", "python", "work"}``: the wheel installed with ``[device]``."""
    base = tmp_path_factory.mktemp("device-install")
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT),
                  "-w", str(base / "dist")], base)
    assert built.returncode == 0, built.stderr
    wheel = next((base / "dist").glob("specks-*.whl"))
    venv = base / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], base).returncode == 0
    done = _run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet",
                 f"{wheel}[device]"], base, timeout=1200)
    assert done.returncode == 0, done.stderr
    work = base / "work"
    work.mkdir()
    return {"venv": venv, "specks": venv / "bin/specks", "python": venv / "bin/python",
            "work": work}


def _shipped(device: dict[str, Path], name: str) -> Path:
    done = _run([str(device["python"]), "-c",
                 f"from firmware_py import shipped; print(shipped.{name})"], device["work"])
    return Path(done.stdout.strip())


def test_the_package_carries_its_data_and_no_torch(device) -> None:
    bundles = _shipped(device, "ZOO_BUNDLES")
    assert device["venv"] in bundles.parents, "shipped bundles must come from the package"
    assert (bundles / "specknet-nano" / "manifest.json").is_file()
    assert (_shipped(device, "ZOO_KEYS") / "specks-zoo.pub").is_file()
    assert _run([str(device["python"]), "-c", "import torch"], device["work"]).returncode != 0


def test_boards_are_listed(device) -> None:
    done = _run([str(device["specks"]), "boards"], device["work"])
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) >= BOARDS


def test_the_shipped_bundles_self_test(device) -> None:
    for name in ("specknet-nano", "csnet-prior"):
        done = _run([str(device["specks"]), "selftest", str(_shipped(device, "ZOO_BUNDLES") /
                     name), "--board", "x86-generic", "--json"], device["work"])
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout.splitlines()[-1])["passed"]


def test_run_streams_the_shipped_model_on_a_clip_without_torch(device, tmp_path) -> None:
    clip = tmp_path / "clip"
    made = _run([str(ROOT / ".venv/bin/specks"), "data", "synth", str(clip), "--frames", "6",
                 "--size", "1280x720", "--seed", "5", "--max-size", "32"], tmp_path)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "detections.jsonl"
    code = ("import sys; from firmware_py.cli import main; rc = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)")
    done = _run([str(device["python"]), "-c", code, "run", "--source", str(clip),
                 "--no-realtime", "--jsonl", str(out), "--quiet"], device["work"])
    assert done.returncode == 0, done.stderr
    messages = [json.loads(line) for line in out.read_text().splitlines()]
    messages = [m for m in messages if m["kind"] == "detections"]
    assert [m["frame_id"] for m in messages] == list(range(6))
    assert sum(len(m["boxes"]) for m in messages) > 0


def test_device_install_of_the_shipped_bundle(device, tmp_path) -> None:
    bundle = _shipped(device, "ZOO_BUNDLES") / "specknet-nano"
    done = _run([str(device["specks"]), "device", "install", str(bundle), "--root",
                 str(tmp_path / "opt"), "--board", "x86-generic", "--no-restart", "--json"],
                device["work"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["result"] == "installed"


def test_a_host_command_names_the_extra_in_one_line(device) -> None:
    done = _run([str(device["specks"]), "train", "--data", "x.yaml"], device["work"])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'specks[host]'" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
