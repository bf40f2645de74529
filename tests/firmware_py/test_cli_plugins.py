"""Plugins of the ``specks`` command that cannot load here (a host command on a device
install) answer in one line, even when they failed halfway through registering."""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from firmware_py.cli import register_plugin

MODULE = "tests.firmware_py.test_cli_plugins"


def halfway(subparsers: argparse._SubParsersAction) -> None:
    """Adds commands, one named after the plugin, then needs a package this install lacks (as
    models.cli did with torch: it added `models`, `train` and `eval` first)."""
    subparsers.add_parser("plugin")
    subparsers.add_parser("halfway-cmd")
    import specks_no_such_package  # noqa: F401


def at_once(subparsers: argparse._SubParsersAction) -> None:
    import specks_no_such_package  # noqa: F401


def parser_with(function: str) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="specks")
    subparsers = parser.add_subparsers(dest="command")
    register_plugin(subparsers, EntryPoint("plugin", f"{MODULE}:{function}", "specks.commands"),
                    None)
    return parser, subparsers


@pytest.mark.parametrize("function, command", [("halfway", "halfway-cmd"),
                                                ("halfway", "plugin"), ("at_once", "plugin")])
def test_an_unloadable_plugin_answers_in_one_line(function: str, command: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    parser, subparsers = parser_with(function)
    args = parser.parse_args([command])
    assert args.func(args) == 2
    assert "specks_no_such_package" in caplog.text and "specks[host]" in caplog.text
    assert len(caplog.records) == 1


def test_a_halfway_plugin_gets_no_second_command() -> None:
    _, subparsers = parser_with("halfway")
    assert set(subparsers.choices) == {"plugin", "halfway-cmd"}


def test_registering_every_command_imports_no_torch() -> None:
    """Host plugins register without their heavy imports, so a device install lists them."""
    code = ("import sys; from firmware_py.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
