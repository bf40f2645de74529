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
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, requires, version

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


def register_plugin(subparsers: argparse._SubParsersAction, ep: EntryPoint,
                    host_reason: str | None) -> None:
    """Register one plugin's commands. A plugin that cannot be imported here (a host command
    on a device install) may have added some commands before it failed: those, else one
    command named after the plugin, answer in one line instead of running."""
    before = set(subparsers.choices)
    try:
        ep.load()(subparsers)
    except ImportError as error:
        reason = f"cannot load ({error})"
    else:
        if not (host_reason and ep.module.split(".")[0] in HOST_PACKAGES):
            return
        reason = host_reason
    added = set(subparsers.choices) - before
    if not added and ep.name not in subparsers.choices:
        subparsers.add_parser(ep.name, help="(unavailable here)")
        added = {ep.name}
    for name in added:
        subparsers.choices[name].set_defaults(func=_unavailable(name, reason))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="specks", description="Small-object detection on "
                                     "edge boards, inside a power budget.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    host_reason = _host_reason()
    for ep in sorted(entry_points(group="specks.commands"), key=lambda e: e.name):
        register_plugin(subparsers, ep, host_reason)
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
