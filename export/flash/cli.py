"""``specks flash BUNDLE --to DEST | --fleet fleet.yaml`` (entry point
``flash = "export.flash.cli:register"``). Registration imports nothing heavy.

A single ``--to`` is a fleet of one, so both print the same progress bar and final table
(``--json``: one JSON object per host instead). Exit 0 when every host installed the bundle
or already had it, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict

log = logging.getLogger("specks.flash")

# command-line flags that set FlashOptions fields; absent flags leave the fleet file's values
_OPTION_FLAGS = ("board", "specks", "trusted_keys", "restart_cmd", "health_timeout",
                 "service", "force", "allow_downgrade", "ssh_config", "ssh_options",
                 "copy_method", "connect_timeout", "timeout")


def _cli_options(args: argparse.Namespace) -> dict:
    options = {k: getattr(args, k) for k in _OPTION_FLAGS if hasattr(args, k)}
    if "ssh_options" in options:
        options["ssh_options"] = tuple(options["ssh_options"])
    if getattr(args, "no_restart", False):
        options["restart"] = False
    return options


def cmd_flash(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from rich.console import Console

    from export.flash.fleet import (
        Fleet,
        FleetError,
        FleetHost,
        flash_fleet,
        load_fleet,
        results_table,
    )

    try:
        fleet = load_fleet(args.fleet) if args.fleet else Fleet(
            hosts=(FleetHost(name=args.to, dest=args.to),))
        console = Console(stderr=True)
        results = flash_fleet(args.bundle, fleet, _cli_options(args), args.parallel, console)
    except (FleetError, ValidationError) as error:
        log.error("%s", error)
        return 2
    if args.json:
        for host, result in results:
            print(json.dumps({"host": host.name, **asdict(result)}))
    else:
        Console().print(results_table(results))
    return 0 if all(r.ok for _, r in results) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("flash", help="put a signed bundle on one board or a fleet",
                              argument_default=argparse.SUPPRESS)
    p.add_argument("bundle", help="bundle directory")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", metavar="DEST", default=None, help="ssh://[user@]host[:port]"
                       "/root (default root /opt/specks) or a local directory (device root "
                       "or a mounted rootfs)")
    where.add_argument("--fleet", metavar="FILE", default=None, help="fleet.yaml: hosts and "
                       "board profiles, flashed in parallel")
    p.add_argument("--board", help="board profile on the target (default: its last one)")
    p.add_argument("--specks", metavar="CMD", help="specks command on the target "
                   "(default 'specks')")
    p.add_argument("--trusted-keys", metavar="DIR", help="trusted-keys folder on the target")
    restart = p.add_mutually_exclusive_group()
    restart.add_argument("--restart-cmd", metavar="CMD", help="restart command on the target "
                         "(default: 'systemctl restart specks' where the unit is installed)")
    restart.add_argument("--no-restart", action="store_true", help="switch without restarting")
    p.add_argument("--health-timeout", type=float, metavar="S", help="seconds to wait for "
                   "healthy stats after the restart (default 60)")
    p.add_argument("--service", action="store_true", help="install and enable specks.service")
    p.add_argument("--force", action="store_true", help="reinstall the current bundle")
    p.add_argument("--allow-downgrade", action="store_true", help="install a bundle built "
                   "before the target's current one")
    p.add_argument("-F", "--ssh-config", metavar="FILE", help="ssh config file (ssh -F)")
    p.add_argument("-o", "--ssh-option", dest="ssh_options", action="append",
                   metavar="KEY=VALUE", help="ssh option (ssh -o), repeatable")
    p.add_argument("--copy", dest="copy_method", choices=("auto", "rsync", "scp"),
                   help="copy tool (default auto)")
    p.add_argument("--connect-timeout", type=int, metavar="S", help="ssh ConnectTimeout")
    p.add_argument("--timeout", type=float, metavar="S", help="limit for one copy or install")
    p.add_argument("--parallel", type=int, default=None, metavar="N",
                   help="hosts at once (default: the fleet file's, 8)")
    p.add_argument("--json", action="store_true", default=False, help="one JSON line per host")
    p.set_defaults(func=cmd_flash)
