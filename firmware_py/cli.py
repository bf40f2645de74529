"""The ``specks`` command. Subcommands are plugins found through the ``specks.commands``
entry-point group, so the device half never imports the host packages; a host command on a
device-only install fails with a message naming the missing extra. On a system Specks does not
support (a 32-bit OS) it stops at once with one line saying so (:mod:`.platform_support`)."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points

from firmware_py.platform_support import unsupported_reason

log = logging.getLogger("specks")


def _unavailable(name: str, error: Exception):
    def run(_: argparse.Namespace) -> int:
        log.error("'specks %s' is not available here (%s); install the host extra: "
                  "pip install 'specks[host]'", name, error)
        return 2

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="specks", description="Small-object detection on "
                                     "edge boards, inside a power budget.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for ep in sorted(entry_points(group="specks.commands"), key=lambda e: e.name):
        try:
            ep.load()(subparsers)
        except ImportError as error:
            p = subparsers.add_parser(ep.name, help=f"(unavailable: {error})")
            p.set_defaults(func=_unavailable(ep.name, error))
    return parser


def main(argv: list[str] | None = None) -> int:
    reason = unsupported_reason()
    if reason:
        print(f"specks: {reason}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
