"""Named counters of the pipeline (Frigate's ``CameraMetrics``: named values, one place).

Three kinds, each keyed by a name the pipeline picks, and how :meth:`Telemetry.snapshot`
reports them (the names below are the ones the pipeline uses, :data:`COUNTERS` and
:data:`STAGES`):

- ``count(name, n)``: events. Reported as ``<name>_fps`` (events per second over the window;
  for ``tiles``, tiles per second) and ``<name>_total`` (since start). ``camera`` (frames
  captured), ``inference`` (frames the detector ran on), ``skipped`` (frames dropped) and
  ``tiles`` (tiles run, ``n`` per frame) give ``camera_fps``, ``inference_fps``,
  ``skipped_fps``, and ``tiles_per_frame = tiles_fps / inference_fps``.
- ``observe(name, value)``: samples, e.g. a stage latency ``infer_ms``. Reported as
  ``<name>_mean``, ``<name>_p50``, ``<name>_p95`` over the window, and ``<name>_hist``: the
  :mod:`~firmware_py.telemetry.loghist` counts since the previous snapshot.
- ``gauge(name, value)``: the last value set (a number, a bool or a short string), e.g.
  ``budget_w``. Reported as is.

Memory is bounded per name (see :mod:`.window`); the per-frame calls append to a bounded
deque and add to a running sum, nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from firmware_py.telemetry import loghist
from firmware_py.telemetry.window import EventWindow, SampleWindow

COUNTERS = ("camera", "inference", "skipped", "tiles")
STAGES = ("capture", "prior", "infer", "decode", "merge", "sink")

Gauge = float | int | bool | str | None


def stage_name(stage: str) -> str:
    """The observed name of a stage's latency: ``infer`` -> ``infer_ms``."""
    return f"{stage}_ms"


class Telemetry:
    """The pipeline's named counters, samples and gauges over a ``window_s`` window."""

    def __init__(self, window_s: float = 5.0, capacity: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if window_s <= 0 or capacity < 1:
            raise ValueError(f"window_s must be > 0 and capacity >= 1, got {window_s}, "
                             f"{capacity}")
        self.window_s, self.capacity, self.clock = window_s, capacity, clock
        self.start: float | None = None
        self._events: dict[str, EventWindow] = {}
        self._samples: dict[str, SampleWindow] = {}
        self._gauges: dict[str, Gauge] = {}

    def _now(self, now: float | None) -> float:
        now = self.clock() if now is None else now
        if self.start is None:
            self.start = now
        return now

    def count(self, name: str, n: int = 1, now: float | None = None) -> None:
        """``n`` events of ``name`` happened at ``now``."""
        now = self._now(now)
        window = self._events.get(name)
        if window is None:
            assert self.start is not None
            window = self._events[name] = EventWindow(self.window_s, self.capacity, self.start)
        window.add(now, n)

    def observe(self, name: str, value: float, now: float | None = None) -> None:
        """One sample of ``name`` (e.g. a latency in ms) at ``now``."""
        now = self._now(now)
        window = self._samples.get(name)
        if window is None:
            window = self._samples[name] = SampleWindow(self.window_s, self.capacity)
        window.add(now, value)

    def gauge(self, name: str, value: Gauge) -> None:
        """Set ``name`` to ``value`` until it is set again."""
        self._gauges[name] = value

    def total(self, name: str) -> int:
        """Events of ``name`` since start (0 if never counted)."""
        window = self._events.get(name)
        return window.total if window else 0

    def rate(self, name: str, now: float | None = None) -> float:
        """Events of ``name`` per second over the window (0 if never counted)."""
        now = self._now(now)
        window = self._events.get(name)
        return window.rate(now) if window else 0.0

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """One flat dict of every counter, sample statistic and gauge (see the module notes).
        Restarts the histograms, so call it once per reporting period."""
        now = self._now(now)
        assert self.start is not None
        out: dict[str, Any] = {"uptime_s": now - self.start}
        for name, events in self._events.items():
            out[f"{name}_fps"] = events.rate(now)
            out[f"{name}_total"] = events.total
        if "tiles_fps" in out and out.get("inference_fps"):
            out["tiles_per_frame"] = out["tiles_fps"] / out["inference_fps"]
        for name, samples in self._samples.items():
            stats = samples.stats(now)
            mean, p50, p95 = stats if stats else (None, None, None)
            out.update({f"{name}_mean": mean, f"{name}_p50": p50, f"{name}_p95": p95,
                        f"{name}_hist": loghist.encode(samples.take_histogram())})
        out.update(self._gauges)
        return out
