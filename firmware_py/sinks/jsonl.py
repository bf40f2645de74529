"""``jsonl``: one JSON object per line, to stdout or to a file rotated by size.

Rotation follows ``logging.handlers.RotatingFileHandler``'s scheme: before a line would take
the file past ``max_bytes``, ``out.jsonl`` becomes ``out.jsonl.1``, ``.1`` becomes ``.2`` and
so on, the oldest beyond ``backups`` is deleted, and a fresh ``out.jsonl`` is opened. A line
is never split across files, and a single line longer than ``max_bytes`` gets a file of its
own. With ``backups: 0`` the file is simply truncated.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import Field

from firmware_py.sinks import Sink, SinkConfig, register_sink
from firmware_py.sinks.message import DetectionMessage, dumps, stats_payload


class JsonlConfig(SinkConfig):
    type: Literal["jsonl"] = "jsonl"
    path: str = Field("-", min_length=1, max_length=4096,
                      description="output file, or '-' for standard output (never rotated)")
    max_bytes: int = Field(16 * 2**20, ge=1024, le=2**40,
                           description="rotate before the file would grow past this many bytes")
    backups: int = Field(5, ge=0, le=1000, description="rotated files kept (.1 is the newest)")
    flush: bool = Field(True, description="flush after every line (a reader sees it at once)")


@register_sink
class JsonlSink(Sink):
    key = "jsonl"
    config_cls = JsonlConfig
    config: JsonlConfig

    def __init__(self, config: JsonlConfig, stream: IO[str] | None = None) -> None:
        """``stream`` replaces standard output when ``path`` is ``'-'``."""
        super().__init__(config)
        self._stdout = config.path == "-"
        self._path = None if self._stdout else Path(config.path)
        self._stream: IO[str] | None = (stream or sys.stdout) if self._stdout else None
        self._size = 0
        self._closed = False
        self.lines = 0
        self.rotations = 0

    def publish_detections(self, message: DetectionMessage) -> None:
        self._write(message.to_json())

    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        self._write(dumps(stats_payload(stats)))

    def _write(self, payload: bytes) -> None:
        line = payload.decode() + "\n"
        n = len(line.encode())
        if self._closed:
            raise RuntimeError("jsonl sink used after close()")
        stream = self._stream if self._stdout else self._file_for(n)
        assert stream is not None
        stream.write(line)
        if self.config.flush:
            stream.flush()
        self._size += n
        self.lines += 1

    def _file_for(self, n: int) -> IO[str]:
        if self._stream is None:
            assert self._path is not None
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = self._path.open("a", encoding="utf-8")
            self._size = self._path.stat().st_size
        if self._size and self._size + n > self.config.max_bytes:
            self._rotate()
        return self._stream

    def _rotate(self) -> None:
        assert self._path is not None and self._stream is not None
        self._stream.close()
        keep = self.config.backups
        if keep:
            for i in range(keep - 1, 0, -1):
                older = self._path.with_name(f"{self._path.name}.{i}")
                if older.exists():
                    os.replace(older, self._path.with_name(f"{self._path.name}.{i + 1}"))
            os.replace(self._path, self._path.with_name(f"{self._path.name}.1"))
        self._stream = self._path.open("w", encoding="utf-8")
        self._size = 0
        self.rotations += 1

    def counters(self) -> dict[str, int]:
        return {"lines": self.lines, "rotations": self.rotations}

    def close(self) -> None:
        self._closed = True
        if self._stdout:
            if self._stream is not None:
                self._stream.flush()
            return
        if self._stream is not None:
            self._stream.close()
            self._stream = None
