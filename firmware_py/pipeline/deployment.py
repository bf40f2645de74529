"""``specks run``'s deployment options as updates of the board profile, which holds the whole
deployment (``sinks``, ``dashboard``, ``telemetry.log_path``, ``power.budget_w``). An option
overrides the fields it names and keeps the profile's others (``--mqtt mqtts://broker`` keeps
the profile's qos, topic prefix, CA file and spool limits), or adds the section when the
profile has none; the result is validated by the profile's schema, so a bad value is named by
its field. The ``--set`` overrides apply after the options.

- ``--jsonl PATH`` (``-`` = stdout): ``sinks.jsonl.path``;
- ``--udp HOST:PORT``: ``sinks.udp.host`` / ``port``;
- ``--mqtt mqtt[s]://[user@]host[:port]``: ``sinks.mqtt.host`` / ``port`` (the URL's, else
  1883, or 8883 for ``mqtts``) / ``tls`` (``mqtts``) / ``username``. A password in the URL is
  refused: argv is visible to every user in ``ps`` (see :mod:`firmware_py.sinks.mqtt_config`);
- ``--spool-dir DIR``: ``sinks.mqtt.spool_path`` = ``DIR/mqtt.sqlite3``, where MQTT is on;
- ``--dashboard [HOST:PORT]``: turns ``dashboard`` on, with that address if given;
- ``--stats-log PATH``: ``telemetry.log_path``; ``--power-budget W``: ``power.budget_w``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from firmware_py.board import BoardConfig, load_board, update_board
from firmware_py.sinks.mqtt_config import PASSWORD_HELP, PORTS

SOURCE = "--spool-dir"
MQTT_SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}


@dataclass(frozen=True)
class DeploymentOptions:
    """The ``specks run`` options that touch the deployment; None = keep the profile's."""

    jsonl: str | None = None
    udp: str | None = None
    mqtt: str | None = None
    spool_dir: Path | None = None
    dashboard: str | None = None  # "" = on, at the profile's (or the default) address
    stats_log: str | None = None
    power_budget_w: float | None = None


def mqtt_fields(url: str, option: str = "--mqtt") -> dict[str, Any]:
    """``sinks.mqtt`` fields of a broker URL (errors name the ``option`` that gave it, never
    the URL, which may hold a password)."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.password is not None:
        raise ValueError(f"{option}: a password in the URL is visible to every user in ps; "
                         f"{PASSWORD_HELP}")
    tls = MQTT_SCHEMES.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if tls is None or not parts.hostname or port == -1:
        raise ValueError(f"{option}: expected mqtt://[user@]host[:port] or mqtts://...")
    fields: dict[str, Any] = {"host": parts.hostname, "port": port or PORTS[tls], "tls": tls}
    if parts.username:
        fields["username"] = unquote(parts.username)
    return fields


def address(option: str, target: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> ``(host, port)``."""
    host, sep, port = target.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()):
        raise ValueError(f"{option} {target!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def updates(options: DeploymentOptions) -> dict[str, Any]:
    """The profile updates the options ask for (a nested mapping)."""
    sinks: dict[str, Any] = {}
    out: dict[str, Any] = {}
    if options.jsonl is not None:
        sinks["jsonl"] = {"path": options.jsonl}
    if options.udp is not None:
        host, port = address("--udp", options.udp)
        sinks["udp"] = {"host": host or "127.0.0.1", "port": port}
    if options.mqtt is not None:
        sinks["mqtt"] = mqtt_fields(options.mqtt)
    if sinks:
        out["sinks"] = sinks
    if options.dashboard is not None:
        dash: dict[str, Any] = {}
        if options.dashboard:
            host, dash["port"] = address("--dashboard", options.dashboard)
            dash["host"] = host or "127.0.0.1"
        out["dashboard"] = dash
    if options.stats_log is not None:
        out["telemetry"] = {"log_path": options.stats_log}
    if options.power_budget_w is not None:
        out["power"] = {"budget_w": options.power_budget_w}
    return out


def load_deployment(board: str, overrides: Iterable[str], options: DeploymentOptions
                    ) -> BoardConfig:
    """The profile ``board`` with the options and the ``--set`` ``overrides`` applied, validated
    once (:class:`~firmware_py.board.BoardConfigError` or ``ValueError`` name what is
    wrong)."""
    config = load_board(board, overrides, updates(options))
    if options.spool_dir is not None and config.sinks.mqtt is not None:
        spool = str(options.spool_dir / "mqtt.sqlite3")
        config = update_board(config, {"sinks": {"mqtt": {"spool_path": spool}}}, SOURCE)
    return config
