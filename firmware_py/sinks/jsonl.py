"""``jsonl``: one JSON object per line, to stdout or to a file rotated by size.

Rotation is the standard library's ``logging.handlers.RotatingFileHandler``: before a line
would take the file to ``max_bytes``, ``out.jsonl`` becomes ``out.jsonl.1``, ``.1`` becomes
``.2`` and so on, the oldest beyond ``backups`` is deleted, and a fresh ``out.jsonl`` is
opened. The handler decides and performs the rollover; this sink writes the line itself
(``FileHandler.emit`` would swallow a write error into ``handleError``, and a failing sink must
say so to the pipeline, which logs it and goes on). Every line is flushed, so a reader sees it
at once; a line is never split across files, and a line longer than ``max_bytes`` gets a file
of its own rather than rotating an empty one. ``-`` writes to standard output, never rotated.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import Field

from firmware_py.sinks import Sink, SinkConfig, register_sink
from firmware_py.sinks.message import DetectionMessage, dumps, stats_payload


class JsonlConfig(SinkConfig):
    type: Literal["jsonl"] = "jsonl"
    path: str = Field("-", min_length=1, max_length=4096,
                      description="output file (relative to the working directory: the "
                      "device root under specks.service), or '-' for standard output (never "
                      "rotated)")
    max_bytes: int = Field(16 * 2**20, ge=1024, le=2**40,
                           description="rotate before the file would reach this many bytes")
    backups: int = Field(5, ge=1, le=1000, description="rotated files kept (.1 is the newest)")


@register_sink
class JsonlSink(Sink):
    key = "jsonl"
    config_cls = JsonlConfig
    config: JsonlConfig

    def __init__(self, config: JsonlConfig, stream: IO[str] | None = None) -> None:
        """``stream`` replaces standard output when ``path`` is ``'-'``. A file is opened (in
        append mode, its folder made) here, so a path that cannot be written fails at once."""
        super().__init__(config)
        self._handler: RotatingFileHandler | None = None
        self._stream: IO[str] | None = None
        if config.path == "-":
            self._stream = stream or sys.stdout
        else:
            Path(config.path).parent.mkdir(parents=True, exist_ok=True)
            self._handler = RotatingFileHandler(config.path, maxBytes=config.max_bytes,
                                                backupCount=config.backups, encoding="utf-8")
        self._closed = False
        self.lines = 0
        self.rotations = 0

    def publish_detections(self, message: DetectionMessage) -> None:
        self._write(message.to_json().decode())

    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        self._write(dumps(stats_payload(stats)).decode())

    def _write(self, line: str) -> None:
        if self._closed:
            raise RuntimeError("jsonl sink used after close()")
        stream = self._stream if self._handler is None else self._file_for(line)
        assert stream is not None
        stream.write(line + "\n")
        stream.flush()
        self.lines += 1

    def _file_for(self, line: str) -> IO[str]:
        handler = self._handler
        assert handler is not None
        record = logging.makeLogRecord({"msg": line})
        if handler.shouldRollover(record) and handler.stream.tell():
            handler.doRollover()
            self.rotations += 1
        return handler.stream

    def counters(self) -> dict[str, int]:
        return {"lines": self.lines, "rotations": self.rotations}

    def close(self) -> None:
        self._closed = True
        if self._handler is not None:
            self._handler.close()
        elif self._stream is not None:
            self._stream.flush()
