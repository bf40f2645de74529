"""``specks flash BUNDLE --fleet fleet.yaml``: one bundle onto many boards in parallel.

``fleet.yaml``::

    parallel: 8                  # hosts flashed at once
    defaults:                    # any FlashOptions field, for every host
      specks: /opt/specks/venv/bin/specks
      ssh_options: [User=pi]
    hosts:
      - name: pi-garden
        dest: ssh://pi@10.0.0.21/opt/specks
        board: rpi5
      - name: sd-card
        dest: /media/me/rootfs
        board: rpi-zero2w

Each host runs in its own thread (``concurrent.futures.ThreadPoolExecutor``; the work is
waiting on ssh, scp and the device, so threads suffice) with a rich progress bar. A failing
host never stops the others: ``flash`` returns a result instead of raising, and anything
unexpected is caught per host. Options resolve from the built-in defaults, then the file's
``defaults``, then the command line, then the host's own fields (most specific wins).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from export import ExportError
from export.flash.flash import FlashOptions, FlashResult, flash
from firmware_py.yaml_error import yaml_problem

log = logging.getLogger(__name__)


class FleetError(ExportError):
    """A fleet file is missing or invalid; the message names the file and the field."""


class FleetHost(BaseModel):
    """One board of the fleet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., min_length=1, max_length=4096, description="label in the table")
    dest: str = Field(..., min_length=1, max_length=4096, description="ssh://[user@]host"
                      "[:port]/root or a local directory")
    board: str | None = Field(None, min_length=1, max_length=256, description="board profile")
    specks: str | None = Field(None, min_length=1, max_length=1024, description="specks command "
                               "on this host")
    trusted_keys: str | None = Field(None, max_length=4096, description="trusted keys on host")
    ssh_config: str | None = Field(None, max_length=4096, description="ssh -F config file "
                                   "for this host")
    ssh_options: tuple[str, ...] | None = Field(None, max_length=64, description="ssh -o "
                                                "Key=Value for this host")


class Fleet(BaseModel):
    """A ``fleet.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parallel: int = Field(8, ge=1, le=256, description="hosts flashed at the same time")
    defaults: FlashOptions = Field(default_factory=FlashOptions, description="options for "
                                   "every host (only the fields given are applied)")
    hosts: tuple[FleetHost, ...] = Field(..., min_length=1, max_length=10_000,
                                         description="the boards")

    @field_validator("hosts")
    @classmethod
    def _unique_names(cls, hosts: tuple[FleetHost, ...]) -> tuple[FleetHost, ...]:
        seen: set[str] = set()
        for host in hosts:
            if host.name in seen:
                raise ValueError(f"host name {host.name!r} appears twice")
            seen.add(host.name)
        return hosts


def load_fleet(path: str | Path) -> Fleet:
    """Read and validate a fleet file; :class:`FleetError` names the file, field or line."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_bytes().decode())
    except OSError as error:
        raise FleetError(f"{path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise FleetError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except yaml.YAMLError as error:
        raise FleetError(f"{path}: not valid YAML, {yaml_problem(error)}") from None
    try:
        return Fleet.model_validate(data)
    except ValidationError as error:
        fields = "; ".join(f"field '{'.'.join(str(p) for p in e['loc']) or '(top)'}': "
                           f"{e['msg']}" for e in error.errors())
        shown = fields if fields.isprintable() else repr(fields)
        raise FleetError(f"{path}: invalid fleet file: {shown}") from None


def host_options(fleet: Fleet, host: FleetHost, cli: Mapping[str, Any]) -> FlashOptions:
    """Built-in defaults < fleet ``defaults`` < command line < the host's own fields."""
    own = host.model_dump(include={"board", "specks", "trusted_keys", "ssh_config",
                                   "ssh_options"}, exclude_none=True)
    return FlashOptions.model_validate({**fleet.defaults.model_dump(exclude_unset=True), **cli,
                                        **own})


def _flash_one(bundle: Path, host: FleetHost, options: FlashOptions,
               progress: Progress, task: int) -> FlashResult:
    def report(stage: str, fraction: float) -> None:
        progress.update(task, completed=fraction, stage=stage)

    try:
        return flash(bundle, host.dest, options, report)
    except Exception as error:  # one host's surprise must not stop the fleet
        log.exception("%s: unexpected error", host.name)
        report("failed", 1.0)
        return FlashResult(dest=host.dest, result="failed", board=options.board,
                           message=f"{type(error).__name__}: {error}")


def flash_fleet(bundle: str | Path, fleet: Fleet, cli: Mapping[str, Any] | None = None,
                parallel: int | None = None, console: Console | None = None
                ) -> list[tuple[FleetHost, FlashResult]]:
    """Flash every host, ``parallel`` at a time (default: the file's); results in file order."""
    bundle = Path(bundle)
    options = [host_options(fleet, h, cli or {}) for h in fleet.hosts]
    width = max(len(h.name) for h in fleet.hosts)
    columns = (TextColumn(f"{{task.description:<{width}}}"), BarColumn(),
               TextColumn("{task.fields[stage]:<11}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress, \
            ThreadPoolExecutor(max_workers=parallel or fleet.parallel) as pool:
        tasks = [progress.add_task(h.name, total=1.0, stage="waiting") for h in fleet.hosts]
        futures = [pool.submit(_flash_one, bundle, h, o, progress, t)
                   for h, o, t in zip(fleet.hosts, options, tasks, strict=True)]
        return [(h, f.result()) for h, f in zip(fleet.hosts, futures, strict=True)]


def results_table(results: Sequence[tuple[FleetHost, FlashResult]]) -> Table:
    """host, board, old -> new version, result, seconds, message."""
    table = Table(title="specks flash")
    for column in ("host", "board", "old -> new", "result", "seconds", "message"):
        table.add_column(column, justify="right" if column == "seconds" else "left",
                         overflow="fold")
    for host, r in results:
        colour = "green" if r.ok else "red"
        table.add_row(host.name, r.board or "-", f"{r.old or '-'} -> {r.new or '-'}",
                      f"[{colour}]{r.result}[/{colour}]", f"{r.seconds:.1f}", r.message)
    return table
