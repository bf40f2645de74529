"""The run id and sequence number every message of a run carries, so runs can be told apart.

``frame_id`` restarts at 0 with each ``specks run``, so two runs appending to one JSONL file,
or a spool replayed by the next run, repeat it. Each message therefore also carries:

- ``run_id``: made once per run (one :class:`RunStamp` per pipeline, one pipeline per
  ``specks run`` process start). A UUID version 7 (RFC 9562, section 5.7: 48 bits of Unix
  milliseconds, then 74 random bits) in its canonical text form: unique without any state on
  the board, and sortable by start time while the wall clock is right (a board without an RTC
  before its first NTP sync may not be; uniqueness does not depend on it). Written here
  because Python's ``uuid.uuid7`` arrives only in 3.14.
- ``seq``: one counter per run over every message it emits, detections and stats together,
  from 0 in emission order. Every sink gets the same numbers, so ``(run_id, seq)`` names one
  message in every stream (a JSONL file, UDP, each MQTT topic, the dashboard's events): the
  key to drop duplicates by. A stream carrying one kind (``specks/<device>/detections``) sees
  strictly increasing numbers with gaps where the other kind's messages went; a consumer of
  both kinds sees every number once, so a gap there is a lost message.

The stamp is applied when a message is built, before any sink spools it, so a message the MQTT
spool replays in a later run keeps the id and number of the run that made it.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid


def new_run_id() -> str:
    """A fresh UUIDv7 (RFC 9562), e.g. ``'0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b'``."""
    millis = time.time_ns() // 1_000_000 & (1 << 48) - 1
    value = millis << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # variant 10 (RFC 9562)
    return str(uuid.UUID(int=value))


class RunStamp:
    """One run's id and its message counter (``next()`` is atomic under CPython's GIL, so
    the pipeline and the stats emitter may share it)."""

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or new_run_id()
        self._seq = itertools.count()

    def next(self) -> int:
        """The sequence number of the next message."""
        return next(self._seq)
