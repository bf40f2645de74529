"""The text of ``specks.service``: what it runs, as whom, where it may write, its watchdog and
sandbox, quoting that survives odd roots, and systemd's own verifier on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from firmware_py.board import load_board
from firmware_py.device.slots import Layout
from firmware_py.device.unit import exec_line, output_dirs, quote, unit_text
from tests.firmware_py.device.units import parse_unit, split_exec
from tests.required import required_tool

EXE = str(Path(sys.executable).with_name("specks"))


def test_the_unit_runs_the_profiles_deployment_as_the_service_user(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "opt specks")
    unit = parse_unit(unit_text(layout, load_board("rpi5"), EXE, tmp_path / "specks.env"))
    service = unit["Service"]
    assert split_exec(service["ExecStart"][0]) == [
        EXE, "run", "--board", str(layout.board_file), "--bundle", str(layout.current),
        "--health-file",
        str(layout.health_file)]
    assert service["EnvironmentFile"] == [f"-{tmp_path / 'specks.env'}"]
    assert service["User"] == ["specks"] and service["WorkingDirectory"] == [str(layout.root)]
    assert (service["Type"], service["NotifyAccess"], service["WatchdogSec"]) == \
        (["notify"], ["main"], ["60"])
    assert service["Restart"] == ["on-failure"] and unit["Install"]["WantedBy"] == \
        ["multi-user.target"]


def test_the_sandbox_leaves_devices_alone(tmp_path: Path) -> None:
    service = parse_unit(unit_text(Layout(tmp_path), load_board("rpi5"), EXE))["Service"]
    assert service["ProtectSystem"] == ["strict"] and service["NoNewPrivileges"] == ["yes"]
    assert "AF_NETLINK" in service["RestrictAddressFamilies"][0]
    for cut_off in ("PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock"):
        assert cut_off not in service  # each would hide /dev/video*, /dev/i2c-* ...


def test_writable_paths_are_the_roots_and_the_profiles_output_folders(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "root")
    board = load_board("x86-generic", ["sinks.jsonl.path=/var/log/specks/d.jsonl",
                                       "telemetry.log_path=stats/s.csv",
                                       "sinks.mqtt.host=broker"])
    assert output_dirs(layout, board) == [layout.run, layout.spool, layout.log,
                                          layout.root / "stats", Path("/var/log/specks")]
    service = parse_unit(unit_text(layout, board, EXE))["Service"]
    words = service["ReadWritePaths"][0].split()
    assert words[-1] == "-/var/log/specks" and f"{layout.root}/stats" in words  # outside: '-'


@pytest.mark.parametrize("value", ["/opt/specks", "/opt/my specks", "/opt/100%/x", 'a"b\\c'])
def test_quoting_round_trips_through_a_shell_style_split(value: str) -> None:
    assert split_exec(exec_line(["specks", value, "$HOME"])) == ["specks", value, "$HOME"]
    assert "%%" in quote(value) or "%" not in value


def test_systemd_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = required_tool("systemd-analyze", "apt-get install systemd")
    board = load_board("rpi5", ["sinks.jsonl.path=/var/log/specks/d.jsonl",
                                "sinks.mqtt.host=broker", "telemetry.log_path=log/stats.csv"])
    path = tmp_path / "specks.service"
    path.write_text(unit_text(Layout(tmp_path / "opt sp%ecks"), board, EXE))
    done = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                          timeout=60)
    complaints = [line for line in done.stderr.splitlines() if "specks.service" in line]
    assert done.returncode == 0 and complaints == [], done.stderr
    bad = tmp_path / "bad" / "specks.service"  # the verifier does refuse a broken unit
    bad.parent.mkdir()
    bad.write_text(path.read_text().replace(EXE, str(tmp_path / "no-such-specks")))
    done = subprocess.run([analyze, "verify", str(bad)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and "not executable" in done.stderr
