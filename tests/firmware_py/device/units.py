"""Reading a unit file back the way systemd does for what the tests check: sections of
``Key=value`` lines (a key may repeat: every value kept, in order), ``#`` comments, and the
quoting of command lines and environment assignments (systemd.syntax(7): ``%%`` is ``%``,
``$$`` is ``$`` in ``ExecStart``; quotes as in a POSIX shell for what the writer emits)."""

from __future__ import annotations

import shlex
from pathlib import Path


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"a line before any section: {raw!r}"
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def unescape(value: str) -> str:
    return value.replace("%%", "%")


def split_exec(value: str) -> list[str]:
    """An ``ExecStart=`` value as argv."""
    return [word.replace("$$", "$") for word in shlex.split(unescape(value))]


def environment(service: dict[str, list[str]]) -> dict[str, str]:
    """``Environment=`` assignments, then the ``EnvironmentFile=`` files (``-``: optional),
    as systemd applies them to the service."""
    env: dict[str, str] = {}
    for value in service.get("Environment", []):
        for word in shlex.split(unescape(value)):
            key, _, val = word.partition("=")
            env[key] = val
    for value in service.get("EnvironmentFile", []):
        optional = value.startswith("-")
        path = Path(unescape(value.removeprefix("-")))
        if not path.is_file():
            assert optional, f"EnvironmentFile {path} is missing"
            continue
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and line[0] not in "#;":
                key, _, val = line.partition("=")
                env[key.strip()] = val.strip().strip('"')
    return env
