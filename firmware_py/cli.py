"""The ``specks`` command. Subcommands are plugins found through the ``specks.commands``
entry-point group, so the device half never imports the host packages. A command of the host
packages (``models``, ``export``) on an install without the ``host`` extra is still listed,
and running it prints one line naming the extra and exits 2. On a system
Specks does not support (a 32-bit OS) it stops at once with one line saying so
(:mod:`.platform_support`)."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, entry_points, requires, version

from firmware_py.platform_support import unsupported_reason

log = logging.getLogger("specks")

HOST_PACKAGES = ("models", "export")  # their commands need the host extra


def missing_requirements(extra: str, distribution: str = "specks") -> list[str]:
    """The requirements of ``distribution[extra]`` that are not installed (the extra's own
    references to other extras of the distribution are skipped)."""
    missing = []
    for requirement in requires(distribution) or []:
        name, _, marker = requirement.partition(";")
        if not re.search(rf"""extra\s*==\s*["']{extra}["']""", marker):
            continue
        project = re.match(r"[A-Za-z0-9_.-]+", name.strip()).group(0)
        if project == distribution:
            continue
        try:
            version(project)
        except PackageNotFoundError:
            missing.append(project)
    return missing


def one_line_errors(handler: Callable[[argparse.Namespace], int],
                    errors: Callable[[], tuple[type[BaseException], ...]]
                    ) -> Callable[[argparse.Namespace], int]:
    """A command handler whose expected failures (``errors()``: the types, imported when the
    command runs) are reported as one log line and exit status 2, never a traceback."""
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except errors() as error:
            log.error("%s", error.args[0] if isinstance(error, KeyError) else error)
            return 2

    return run


def _unavailable(command: str, reason: str):
    def run(_: argparse.Namespace) -> int:
        log.error("'specks %s' is a host command and %s; install the host extra: "
                  "pip install 'specks[host]'", command, reason)
        return 2

    return run


def _host_reason() -> str | None:
    """Why host commands cannot run here, or None when the host extra is installed."""
    try:
        missing = missing_requirements("host")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return None
    return f"this install lacks {', '.join(missing)}" if missing else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="specks", description="Small-object detection on "
                                     "edge boards, inside a power budget.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    host_reason = _host_reason()
    for ep in sorted(entry_points(group="specks.commands"), key=lambda e: e.name):
        before = set(subparsers.choices)
        try:
            ep.load()(subparsers)
        except ImportError as error:
            p = subparsers.add_parser(ep.name, help="(unavailable here)")
            p.set_defaults(func=_unavailable(ep.name, f"cannot load ({error})"))
            continue
        if host_reason and ep.module.split(".")[0] in HOST_PACKAGES:
            for name in set(subparsers.choices) - before:
                subparsers.choices[name].set_defaults(func=_unavailable(name, host_reason))
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
