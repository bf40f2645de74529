"""``specks report LOG [--out DIR]``: plots and a summary of a stats log (see
:mod:`export.report.report`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="plots and a summary of a telemetry stats log",
                              description="Reads a stats log (.jsonl or .csv, with its rotated "
                              "parts) and writes power.png, fps.png, latency.png, summary.md "
                              "and summary.json.")
    p.add_argument("log", type=Path, help="the stats log (its rotated parts LOG.N are read too)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: LOG's folder / report)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from export.report.report import report
    from firmware_py.telemetry.statslog import StatsLogError

    out = args.out or args.log.parent / "report"
    try:
        _, text, files = report(args.log, out)
    except StatsLogError as e:
        log.error("%s", e)
        return 2
    print(text, end="")
    print("wrote " + ", ".join(str(f) for f in files))
    return 0
