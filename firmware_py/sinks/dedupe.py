"""Exactly-once on the consumer's side: pass each ``(run_id, seq)`` once.

The MQTT sink delivers at least once (QoS 1 redelivery, and the acknowledged window it sends
again after a reconnect: :mod:`~firmware_py.sinks.mqtt`); every message carries its run's id
and its place in the run's one sequence over detections and stats
(:mod:`~firmware_py.sinks.stamp`), so a consumer that drops keys it has seen receives each
message exactly once (the idempotent receiver of *Enterprise Integration Patterns*, which the
MQTT 3.1.1 spec leaves to the application, Sec. 4.3.2).

Memory per run is a watermark below which every sequence number was seen, plus the numbers
seen above it. A gap that never fills (a message dropped by a full spool) would hold that set
open, so once it exceeds ``window`` numbers the watermark jumps to the lowest one seen: a
message older than ``window`` that arrives after that is dropped as seen (choice made here;
the sink's resend window is far below the default). At most ``runs`` runs are remembered,
the least recently seen forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any


class _Run:
    def __init__(self) -> None:
        self.floor = 0  # every seq below was seen
        self.above: set[int] = set()

    def first(self, seq: int, window: int) -> bool:
        if seq < self.floor or seq in self.above:
            return False
        self.above.add(seq)
        if len(self.above) > window:
            self.floor = min(self.above)
        while self.floor in self.above:
            self.above.remove(self.floor)
            self.floor += 1
        return True


class Deduplicator:
    """``first(payload)`` is True the first time a ``(run_id, seq)`` is offered."""

    def __init__(self, window: int = 100_000, runs: int = 64) -> None:
        self.window = window
        self.runs = runs
        self._runs: OrderedDict[Hashable, _Run] = OrderedDict()
        self.repeats = 0

    def first(self, payload: Mapping[str, Any]) -> bool:
        run_id, seq = payload["run_id"], int(payload["seq"])
        run = self._runs.pop(run_id, None) or _Run()
        self._runs[run_id] = run
        while len(self._runs) > self.runs:
            self._runs.popitem(last=False)
        new = run.first(seq, self.window)
        self.repeats += not new
        return new
