"""Device subcommands: ``specks device install|status``, ``specks selftest`` and
``specks rollback`` (entry point ``device = "firmware_py.device.cli:register"``).

Exit codes: 0 done (installed, unchanged, rolled back on request), 1 refused or failed, 2 bad
usage. ``--json`` prints the outcome as one JSON object on the last line of stdout; that is
what ``specks flash`` reads over SSH.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from firmware_py.board import BoardConfigError
from firmware_py.device import DeviceError, device_root
from firmware_py.device.compat import RUNTIMES
from firmware_py.device.install import (
    InstallOptions,
    InstallResult,
    install,
    resolve_board,
    rollback,
)
from firmware_py.device.service import DEFAULT_UNIT_DIR
from firmware_py.device.slots import Layout
from firmware_py.device.status import device_status, format_status
from firmware_py.device.unit import DEFAULT_ENV_FILE

log = logging.getLogger("specks.device")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", help="device root (default $SPECKS_ROOT or /opt/specks)")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 3600], got {text}")
    return value


def _restart_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trusted-keys", metavar="DIR", action="append", default=[],
                   help="trusted public keys, a directory or .pub file (repeatable; default "
                   "$SPECKS_TRUSTED_KEYS, else /etc/specks/trusted_keys, else the zoo key)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--restart-cmd", metavar="CMD", help="command that restarts the "
                       "pipeline (default: 'systemctl restart specks' if the unit is installed)")
    group.add_argument("--no-restart", action="store_true", help="switch without restarting "
                       "(SD-card targets, tests)")
    p.add_argument("--health-timeout", type=_positive, default=60.0, metavar="S",
                   help="seconds to wait for healthy stats after the restart (default 60)")
    p.add_argument("--unit-dir", type=Path, default=DEFAULT_UNIT_DIR,
                   help=f"systemd unit folder (default {DEFAULT_UNIT_DIR})")


def _runtimes(text: str) -> tuple[str, ...]:
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    if not items or any(t not in RUNTIMES for t in items):
        raise argparse.ArgumentTypeError(f"choose from {','.join(RUNTIMES)}; got {text!r}")
    return items


def _board_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", default=os.environ.get("SPECKS_BOARD"),
                   help="board profile (default $SPECKS_BOARD, else the last installed one)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a board profile field")
    p.add_argument("--runtimes", type=_runtimes, help="runtimes this device has, "
                   "comma-separated (default: those installed)")


def _options(args: argparse.Namespace, **extra) -> InstallOptions:
    return InstallOptions(
        board=getattr(args, "board", None), board_overrides=tuple(getattr(args, "overrides", ())),
        runtimes=getattr(args, "runtimes", None), restart=not args.no_restart,
        restart_cmd=args.restart_cmd, health_timeout=args.health_timeout,
        unit_dir=args.unit_dir, **extra)


def _report(result: InstallResult, as_json: bool, ok: bool) -> int:
    if as_json:
        print(json.dumps(asdict(result)))
    else:
        print(f"{result.result}: {result.old or '-'} -> {result.new or '-'} "
              f"({result.seconds:.1f} s) {result.message}")
    return 0 if ok else 1


def _remove_staged(bundle: Path, layout: Layout) -> None:
    staged, staging = bundle.resolve(), layout.staging.resolve()
    if staging in staged.parents:
        shutil.rmtree(staged, ignore_errors=True)
    else:
        log.warning("%s is not under %s; not removing it", bundle, layout.staging)


def cmd_install(args: argparse.Namespace) -> int:
    root = device_root(args.root)
    options = _options(args, min_free_bytes=int(args.min_free_mb * 1e6), force=args.force,
                       allow_downgrade=args.allow_downgrade, service=args.service,
                       specks_exe=args.specks_exe, env_file=args.env_file)
    try:
        result = install(args.bundle, root, args.trusted_keys, options)
    finally:
        if args.remove_staged:
            _remove_staged(Path(args.bundle), Layout(root))
    return _report(result, args.json, result.ok)


def cmd_status(args: argparse.Namespace) -> int:
    status = device_status(device_root(args.root))
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    result = rollback(device_root(args.root), args.trusted_keys,
                      _options(args))
    return _report(result, args.json, result.result == "installed")


def cmd_selftest(args: argparse.Namespace) -> int:
    from firmware_py.device.selftest import selftest

    layout = Layout(device_root(args.root))
    bundle = Path(args.bundle) if args.bundle else layout.current
    try:
        board = resolve_board(layout, InstallOptions(board=args.board,
                                                     board_overrides=tuple(args.overrides)))
        result = selftest(bundle, board, args.runtimes)
    except (BoardConfigError, DeviceError) as error:
        log.error("%s", error)
        return 1
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        print(("passed " if result.passed else "FAILED ") + result.summary())
    return 0 if result.passed else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    device = subparsers.add_parser("device", help="install bundles on this device; status")
    sub = device.add_subparsers(dest="device_command", metavar="ACTION", required=True)

    p = sub.add_parser("install", help="verify, self-test and switch to a bundle (A/B)")
    p.add_argument("bundle", help="bundle directory")
    _common(p)
    _board_args(p)
    _restart_args(p)
    p.add_argument("--service", action="store_true", help="install and enable specks.service: "
                   "the profile's deployment as user 'specks', sandboxed, with a watchdog")
    p.add_argument("--specks-exe", help="ExecStart executable (default: this specks)")
    p.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE,
                   help=f"the unit's EnvironmentFile for secrets (default {DEFAULT_ENV_FILE})")
    p.add_argument("--min-free-mb", type=float, default=0.0, help="MB to keep free")
    p.add_argument("--force", action="store_true", help="reinstall the current bundle")
    p.add_argument("--allow-downgrade", action="store_true", help="install a bundle built "
                   "before the current one")
    p.add_argument("--remove-staged", action="store_true",
                   help="delete the bundle afterwards (only under <root>/staging)")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("status", help="slots, versions, last health, last install")
    _common(p)
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser("selftest", help="check that this board computes a bundle "
                              "correctly (its golden tile, in the board's runtime)")
    p.add_argument("bundle", nargs="?", help="bundle directory (default <root>/current)")
    _common(p)
    _board_args(p)
    p.set_defaults(func=cmd_selftest)

    p = subparsers.add_parser("rollback", help="switch back to the previous bundle")
    _common(p)
    _restart_args(p)
    p.set_defaults(func=cmd_rollback)
