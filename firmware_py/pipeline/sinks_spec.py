"""``specks run`` sink options to sink configs: ``--jsonl PATH`` (``-`` = stdout),
``--udp HOST:PORT`` and ``--mqtt mqtt://[user:password@]host[:port]``. MQTT spools to
``<spool-dir>/mqtt.sqlite3`` while the broker is away."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def mqtt_config(url: str, device: str, spool_dir: Path) -> dict[str, Any]:
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"--mqtt {url!r}: expected mqtt://host[:port]")
    return {"type": "mqtt", "host": parts.hostname, "port": parts.port or 1883,
            "device": device, "username": parts.username, "password": parts.password,
            "spool_path": str(spool_dir / "mqtt.sqlite3")}


def udp_config(target: str) -> dict[str, Any]:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--udp {target!r}: expected HOST:PORT")
    return {"type": "udp", "host": host or "127.0.0.1", "port": int(port)}


def sink_configs(jsonl: str | None, udp: str | None, mqtt: str | None, device: str,
                 spool_dir: Path) -> list[dict[str, Any]]:
    configs = []
    if jsonl:
        configs.append({"type": "jsonl", "path": jsonl})
    if udp:
        configs.append(udp_config(udp))
    if mqtt:
        configs.append(mqtt_config(mqtt, device, spool_dir))
    return configs
