"""``specks device status``: what each slot holds, where ``current`` and ``previous`` point,
the board, the last health record and the outcome of the last install."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from firmware_py.device.health import read_health
from firmware_py.device.slots import SLOTS, Layout, read_json, slot_info


def _board_name(path: Path) -> str | None:
    """The name in a recorded profile, or None if there is none (or it is unreadable)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return str(data.get("name")) if isinstance(data, dict) and data.get("name") else None


def device_status(root: str | Path) -> dict[str, Any]:
    """A JSON-able report of the device root."""
    layout = Layout(Path(root))
    health = read_health(layout.health_file)
    board = _board_name(layout.board_file)
    return {
        "root": str(layout.root),
        "board": board,
        "current": layout.linked_slot(layout.current),
        "previous": layout.linked_slot(layout.previous),
        "slots": [asdict(slot_info(layout, s)) for s in SLOTS],
        "health": None if health is None else {
            **health.model_dump(), "age_s": round(time.time() - health.t_wall, 1)},
        "last_install": read_json(layout.install_record),
    }


def format_status(status: dict[str, Any]) -> str:
    """The report as a few lines of text."""
    lines = [f"root      {status['root']}", f"board     {status['board'] or '-'}"]
    for slot in status["slots"]:
        what = slot["version"] or slot["error"]
        created = f"  created {slot['created']}" if slot["created"] else ""
        lines.append(f"slot {slot['slot']}    {slot['role']:<16} {what}{created}")
    health = status["health"]
    if health is None:
        lines.append("health    none recorded")
    else:
        lines.append(f"health    ok={health['ok']} fps={health['fps']:.1f} "
                     f"frames={health['frames']} model={health['model']} "
                     f"({health['age_s']:.0f} s ago)")
    last = status["last_install"]
    if last:
        lines.append(f"install   {last.get('result')} at {last.get('time')}: "
                     f"{last.get('message')}")
    return "\n".join(lines)
