"""``specks boards`` and ``specks boards show``, run in-process through the real CLI."""

import pytest
import yaml

from firmware_py.board import BoardConfig, load_board
from firmware_py.cli import main

BOARDS = ("rpi5", "rpi4", "rpi-zero2w", "jetson-orin-nano", "jetson-nano", "x86-generic")


@pytest.fixture(autouse=True)
def repo_boards_only(monkeypatch):
    monkeypatch.delenv("SPECKS_BOARD_DIR", raising=False)


def test_boards_lists_all_six(capsys):
    assert main(["boards"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["name", "description"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(BOARDS) <= set(rows)
    for name in BOARDS:
        board = load_board(name)
        assert board.camera.type in rows[name] and board.power.sensor.type in rows[name]
        assert f"x{board.runtime.threads}" in rows[name]
    assert "none" in rows["x86-generic"] and "6 W" in rows["rpi5"]


def test_show_prints_the_resolved_profile_with_overrides(capsys):
    assert main(["boards", "show", "rpi5", "--set", "power.budget_w=4.5",
                 "--set", "runtime.threads=2"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["power"]["budget_w"] == 4.5 and shown["runtime"]["threads"] == 2
    assert "cut_margin" in shown["tiles"]  # defaults are filled in
    assert shown["sinks"] == {"jsonl": None, "udp": None, "mqtt": None}  # the deployment too
    assert shown["dashboard"] is None and shown["telemetry"]["log_path"] == ""
    again = BoardConfig.model_validate(shown)  # the output is itself a valid profile
    assert again == load_board("rpi5", ["power.budget_w=4.5", "runtime.threads=2"])


def test_show_and_list_print_the_profiles_deployment(tmp_path, monkeypatch, capsys):
    path = tmp_path / "site.yaml"
    path.write_text("name: site\nsinks:\n  mqtt: {host: broker.lan, tls: true, qos: 2}\n"
                    "  jsonl: {path: log/d.jsonl}\ndashboard: {port: 9000}\n"
                    "telemetry: {log_path: log/stats.jsonl}\n")
    assert main(["boards", "show", str(path)]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    mqtt = shown["sinks"]["mqtt"]
    assert (mqtt["host"], mqtt["tls"], mqtt["qos"], mqtt["spool_max_messages"]) == \
        ("broker.lan", True, 2, 100_000)
    assert shown["sinks"]["jsonl"]["max_bytes"] == 16 * 2**20
    assert shown["dashboard"]["port"] == 9000 and shown["dashboard"]["max_clients"] == 16
    monkeypatch.setenv("SPECKS_BOARD_DIR", str(tmp_path))
    assert main(["boards"]) == 0
    site = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("site"))
    assert site.endswith("jsonl,mqtt,dashboard,stats-log")


def test_show_a_wrong_field_exits_2_naming_field_and_file(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nruntime:\n  thread: 4\n")
    assert main(["boards", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "runtime.thread" in err


def test_show_a_bad_override_exits_2(capsys):
    assert main(["boards", "show", "rpi4", "--set", "runtime.threads=0"]) == 2
    assert "runtime.threads" in capsys.readouterr().err
    assert main(["boards", "show", "no-such-board"]) == 2
    assert "unknown board" in capsys.readouterr().err


def test_an_invalid_profile_in_the_list_exits_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken.yaml").write_text("name: broken\ncamera:\n  type: webcam\n")
    monkeypatch.setenv("SPECKS_BOARD_DIR", str(tmp_path))
    assert main(["boards"]) == 2
    out, err = capsys.readouterr()
    assert "broken" in out and "INVALID" in out and "broken.yaml" in err
    assert "rpi5" in out  # the others are still listed
