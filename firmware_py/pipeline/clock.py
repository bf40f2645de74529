"""The loop's clock: the time the pipeline reads (frame starts, telemetry, the governor) and
the wait for the next frame's start, which a stop request cuts short.

:class:`MonotonicClock` is the real one (``time.monotonic``, ``Event.wait``). A test that
closes the governor around the pipeline passes a virtual clock instead, which a simulated
board advances by each frame's modelled compute time, so what it checks does not depend on
how busy the machine running it is. Stage latencies are measured with the real clocks either
way (they are what the stats report, not what the loop decides with).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class LoopClock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Let ``seconds`` pass unless ``stop`` is set first; True when it is set."""


class MonotonicClock:
    """Real time."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))
