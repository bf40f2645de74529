"""The stats log: one record per reporting period, as JSON Lines or CSV, rotated by size.

Writing goes through ``logging.handlers.RotatingFileHandler`` (size-based: before a record
would take the file past ``max_bytes``, ``stats.jsonl`` becomes ``stats.jsonl.1``, ``.1``
becomes ``.2``, ..., and at most ``backups`` old parts are kept). The format follows the
suffix: ``.csv`` is CSV (RFC 4180, Python's ``csv`` module), anything else JSON Lines, one
``{"kind": "stats", ...}`` object per line, the same payload the sinks send
(:func:`firmware_py.sinks.message.stats_payload`), so a ``jsonl`` sink's file reads the same.

Choices where the sources are silent: a CSV part has one header, the keys of its first
record; a record that brings a key the header lacks starts a new part (a rotation) with a
wider header, so no field is ever dropped; a missing value is an empty cell. Reading
(:func:`read_stats`) takes every part, oldest first (``.N`` ... ``.1``, then the file), skips
the other kinds of a mixed JSONL stream (detections), and tolerates a torn last line of a part
(power cut mid-write) with a warning; any other bad line raises :class:`StatsLogError` naming
the file and line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator, Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, Literal

from firmware_py.sinks.message import dumps, jsonable, stats_payload

log = logging.getLogger(__name__)

Format = Literal["jsonl", "csv"]


class StatsLogError(ValueError):
    """A stats log cannot be read; the message names the file and the line."""


def log_format(path: str | Path) -> Format:
    """``csv`` for a ``.csv`` path, else ``jsonl``."""
    return "csv" if Path(path).suffix.lower() == ".csv" else "jsonl"


def _cell(value: Any) -> str:
    value = jsonable(value)
    return "" if value is None else str(value)


class _Handler(RotatingFileHandler):
    """A rotating handler that starts each CSV part with its header."""

    header = ""

    def doRollover(self) -> None:  # noqa: N802 (logging's name)
        super().doRollover()
        if self.header and self.stream is not None:
            self.stream.write(self.header + self.terminator)


class StatsLog:
    """Appends stats records to ``path``, rotating by size."""

    def __init__(self, path: str | Path, max_bytes: int = 4 * 2**20, backups: int = 5) -> None:
        if max_bytes < 1 or backups < 1:
            raise ValueError(f"max_bytes and backups must be >= 1, got {max_bytes}, {backups}")
        self.path = Path(path)
        self.format = log_format(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handler = _Handler(self.path, maxBytes=max_bytes, backupCount=backups,
                                 encoding="utf-8")
        self._columns: list[str] = []

    def write(self, stats: Mapping[str, Any]) -> None:
        """Append one record."""
        if self.format == "jsonl":
            line = dumps(stats_payload(stats)).decode()
        else:
            line = self._csv_line(stats)
        self._handler.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))

    def _csv_line(self, stats: Mapping[str, Any]) -> str:
        new = [k for k in stats if k not in self._columns]
        if new or not self._columns:
            self._columns = self._columns + new
            self._handler.header = _csv_text(self._columns)
            if self.path.exists() and self.path.stat().st_size > 0:
                self._handler.doRollover()  # a wider header needs a part of its own
            else:
                self._write_header()
        return _csv_text([_cell(stats.get(k)) for k in self._columns])

    def _write_header(self) -> None:
        self._handler.stream.write(self._handler.header + self._handler.terminator)

    def close(self) -> None:
        self._handler.close()


def _csv_text(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()


def log_parts(path: str | Path) -> list[Path]:
    """The parts of a rotated log, oldest first; :class:`StatsLogError` if there are none."""
    path = Path(path)
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)$")
    rotated = sorted(((int(m.group(1)), p) for p in path.parent.glob(path.name + ".*")
                      if (m := pattern.match(p.name))), reverse=True)
    parts = [p for _, p in rotated] + ([path] if path.is_file() else [])
    if not parts:
        raise StatsLogError(f"{path}: no stats log (nor rotated parts {path.name}.N)")
    return parts


def _number(text: str) -> Any:
    if text == "":
        return None
    if text in ("True", "False", "true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _jsonl_records(path: Path, text: str) -> Iterator[dict[str, Any]]:
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if number == len(lines):
                log.warning("%s:%d: torn last line skipped (%s)", path, number, e.msg)
                return
            raise StatsLogError(f"{path}:{number}: not JSON: {e.msg}") from None
        if not isinstance(record, dict):
            raise StatsLogError(f"{path}:{number}: expected a JSON object")
        if record.get("kind", "stats") == "stats":
            record.pop("kind", None)
            yield record


def _csv_records(path: Path, text: str) -> Iterator[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return
    rows = [(reader.line_num, row) for row in reader]
    for i, (number, row) in enumerate(rows):
        if len(row) != len(header):
            if i == len(rows) - 1 and len(row) < len(header):
                log.warning("%s:%d: torn last line skipped", path, number)
                return
            raise StatsLogError(f"{path}:{number}: {len(row)} cells, the header has "
                                f"{len(header)}")
        yield {k: _number(v) for k, v in zip(header, row, strict=True)}


def read_stats(path: str | Path) -> list[dict[str, Any]]:
    """Every stats record of the log at ``path`` and its rotated parts, oldest first."""
    records: list[dict[str, Any]] = []
    fmt = log_format(path)
    for part in log_parts(path):
        try:
            text = part.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise StatsLogError(f"{part}: cannot read: {e}") from None
        reader = _csv_records if fmt == "csv" else _jsonl_records
        records.extend(reader(part, text))
    return records
