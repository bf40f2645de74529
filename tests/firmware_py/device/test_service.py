"""The generated ``specks.service``: its fields, systemd's own parser on it, and enabling it
on a root filesystem that is not running (an SD card)."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from firmware_py.device.install import InstallOptions, install
from firmware_py.device.service import UNIT_NAME, install_service, restart_command, unit_text
from firmware_py.device.slots import Layout

EXE = shutil.which("specks") or "/usr/local/bin/specks"


def parse(text: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str
    unit.read_string(text)
    return unit


def test_unit_runs_the_current_bundle_with_the_board_and_health_file(tmp_path: Path) -> None:
    unit = parse(unit_text(Layout(tmp_path / "opt specks"), "rpi5", EXE))
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv == [EXE, "run", "--board", "rpi5", "--bundle",
                    str(tmp_path / "opt specks" / "current"), "--health-file",
                    str(tmp_path / "opt specks" / "run" / "health.json")]
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    path = tmp_path / UNIT_NAME
    path.write_text(unit_text(Layout(Path("/opt/specks")), "x86-generic", EXE))
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                          text=True, timeout=60)
    complaints = [line for line in done.stderr.splitlines() if str(path) in line]
    assert complaints == []


def test_install_writes_and_enables_the_unit_offline(tmp_path: Path) -> None:
    units = tmp_path / "etc" / "systemd" / "system"
    path = install_service(Layout(tmp_path / "root"), "rpi4", units, EXE)
    assert "--board rpi4" in path.read_text()
    link = units / "multi-user.target.wants" / UNIT_NAME
    assert link.is_symlink() and link.resolve() == path.resolve()
    install_service(Layout(tmp_path / "root"), "rpi5", units, EXE)  # idempotent, updated
    assert "--board rpi5" in path.read_text()


def test_no_restart_without_a_running_systemd(tmp_path: Path) -> None:
    install_service(Layout(tmp_path / "root"), "rpi4", tmp_path, EXE)
    expected = "systemctl restart specks" if Path("/run/systemd/system").is_dir() else None
    assert restart_command(tmp_path) == expected


def test_device_install_with_service(root: Path, bundles, tmp_path: Path) -> None:
    options = InstallOptions(board="x86-generic", service=True, unit_dir=tmp_path / "units",
                             specks_exe=EXE)
    assert install(bundles["v1"], root, bundles["keys"], options).result == "installed"
    text = (tmp_path / "units" / UNIT_NAME).read_text()
    assert f"--bundle {root / 'current'}" in text
