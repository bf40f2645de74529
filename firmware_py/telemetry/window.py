"""Counters over a sliding monotonic-clock window (Frigate's ``EventsPerSecond``, in
``frigate/util/builtin.py``): an event rate is the events inside the last ``window_s`` seconds
divided by the window's span, and a sample's statistics (mean, p50, p95) are taken over the
samples inside the window.

Choices where Frigate is silent or differs: the span is ``min(window_s, now - start)``, with
``start`` the time the counter was made (so the first seconds are not diluted by an empty
window); memory is bounded by ``capacity`` entries per counter (a ``deque`` that never grows
past it): when more events than that fall inside one window, the oldest are dropped and the
span shrinks to what is still held, so the rate stays right. An event of weight ``n`` (e.g.
``n`` tiles run in one frame) is one entry.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from firmware_py.telemetry import loghist


class EventWindow:
    """Rate of weighted events over the last ``window_s`` seconds, and their running total."""

    __slots__ = ("window_s", "start", "total", "_events", "_in_window", "_dropped_until")

    def __init__(self, window_s: float, capacity: int, start: float) -> None:
        self.window_s = window_s
        self.start = start
        self.total = 0
        self._events: deque[tuple[float, int]] = deque(maxlen=capacity)
        self._in_window = 0
        self._dropped_until = start  # time of the newest entry dropped for capacity

    def add(self, now: float, n: int = 1) -> None:
        if len(self._events) == self._events.maxlen:
            t, old = self._events.popleft()
            self._in_window -= old
            self._dropped_until = max(self._dropped_until, t)
        self._events.append((now, n))
        self._in_window += n
        self.total += n

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._events and self._events[0][0] <= horizon:
            self._in_window -= self._events.popleft()[1]

    def rate(self, now: float) -> float:
        """Events per second over the window ending at ``now``."""
        self._expire(now)
        span = min(self.window_s, now - max(self.start, self._dropped_until))
        return self._in_window / span if span > 0 else 0.0


class SampleWindow:
    """Values observed over the last ``window_s`` seconds (mean, p50, p95), plus a
    :mod:`~firmware_py.telemetry.loghist` histogram of the values since the last
    :meth:`take_histogram`."""

    __slots__ = ("window_s", "_samples", "_hist")

    def __init__(self, window_s: float, capacity: int) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque(maxlen=capacity)
        self._hist = np.zeros(loghist.NUM_BINS, dtype=np.int64)

    def add(self, now: float, value: float) -> None:
        self._samples.append((now, value))
        self._hist[loghist.bin_of(value)] += 1

    def stats(self, now: float) -> tuple[float, float, float] | None:
        """``(mean, p50, p95)`` of the samples in the window, or None when there are none."""
        horizon = now - self.window_s
        while self._samples and self._samples[0][0] <= horizon:
            self._samples.popleft()
        if not self._samples:
            return None
        values = np.fromiter((v for _, v in self._samples), dtype=np.float64,
                             count=len(self._samples))
        p50, p95 = np.percentile(values, (50, 95))
        return float(values.mean()), float(p50), float(p95)

    def take_histogram(self) -> np.ndarray:
        """The counts gained since the previous call (a copy), and restart them."""
        counts = self._hist.copy()
        self._hist[:] = 0
        return counts
