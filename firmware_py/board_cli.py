"""``specks boards``: the board profiles, listed or shown resolved.

    specks boards                           a table of every profile found
    specks boards show rpi5 --set power.budget_w=4.5
                                            one profile, validated, overrides applied, every
                                            default filled in, as YAML: the deployment too
                                            (sinks, dashboard, stats log, power budget)

A profile that fails validation exits with status 2 and the :class:`BoardConfigError`
message, which names the file and the field.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

from firmware_py.board import BoardConfig, BoardConfigError, list_boards, load_board

COLUMNS = ("name", "description", "camera", "runtime", "power sensor", "budget", "outputs")


def describe_camera(camera: Any) -> str:
    """A short camera summary: type plus size or the pipeline's first element."""
    if camera.type == "gstreamer":
        return f"gstreamer {camera.pipeline.split('!', 1)[0].split()[0]}"
    size = getattr(camera, "main_size", None)
    if size is None and hasattr(camera, "width"):
        size = (camera.width, camera.height)
    return f"{camera.type} {size[0]}x{size[1]}" if size else camera.type


def describe_outputs(board: BoardConfig) -> str:
    """Where the profile sends things: its sinks, the dashboard and the stats log."""
    names = [config.type for config in board.sinks.enabled()]
    names += ["dashboard"] * (board.dashboard is not None)
    names += ["stats-log"] * bool(board.telemetry.log_path)
    return ",".join(names) or "-"


def row(board: BoardConfig) -> tuple[str, ...]:
    power = board.power
    budget = "none" if power.budget_w is None else f"{power.budget_w:g} W"
    return (board.name, board.description, describe_camera(board.camera),
            f"{board.runtime.prefer} {board.runtime.precision} x{board.runtime.threads}",
            power.sensor.type, budget, describe_outputs(board))


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True))
                     .rstrip() for r in rows)


def list_command(_: argparse.Namespace) -> int:
    rows: list[tuple[str, ...]] = [COLUMNS]
    errors = []
    for name in list_boards():
        try:
            rows.append(row(load_board(name)))
        except BoardConfigError as e:
            errors.append(str(e))
            rows.append((name, "INVALID (see below)", "", "", "", "", ""))
    print(table(rows))
    for error in errors:
        print(error, file=sys.stderr)
    return 2 if errors else 0


def show_command(args: argparse.Namespace) -> int:
    try:
        board = load_board(args.name, args.set)
    except BoardConfigError as e:
        print(e, file=sys.stderr)
        return 2
    print(yaml.safe_dump(board.model_dump(mode="json"), sort_keys=False, width=100,
                         default_flow_style=None, allow_unicode=True), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    boards = subparsers.add_parser("boards", help="list the board profiles, or show one",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    boards.set_defaults(func=list_command)
    actions = boards.add_subparsers(dest="boards_command", metavar="ACTION")
    show = actions.add_parser("show", help="print a profile validated and resolved, as YAML")
    show.add_argument("name", help="profile name (rpi5) or path to a YAML file")
    show.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override a field by its dotted path, value parsed as YAML "
                      "(repeatable): --set runtime.threads=2")
    show.set_defaults(func=show_command)
