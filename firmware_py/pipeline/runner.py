"""The live loop: capture thread -> :class:`~firmware_py.pipeline.frame.FrameProcessor` ->
sinks, with telemetry, a one-line status and a health file.

The capture thread owns the source (reconnects with backoff, drops old frames: see
:mod:`firmware_py.sources.capture`); this loop takes the newest frame, processes it and
publishes one :class:`~firmware_py.sinks.message.DetectionMessage` per frame to every sink.
Every ``stats_period_s`` the telemetry snapshot (fps, tiles per frame, stage latencies, the
capture's drops, reconnects and gap) goes to the sinks as stats, to the status line, and to
the health file (``--health-file``, rewritten atomically; flashing waits for it). A sink that
raises is logged and the loop goes on: one broken output never stops detection.

``capture`` time is the wait for the next frame (0 when one is queued: the camera is ahead);
the other stages come from the frame processor, plus ``sink``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_py.pipeline.frame import FrameProcessor, FrameResult
from firmware_py.sinks import Sink
from firmware_py.sinks.message import DetectionMessage
from firmware_py.sources import FrameSource
from firmware_py.sources.capture import Capture, CaptureConfig
from firmware_py.telemetry.counters import Telemetry, stage_name

log = logging.getLogger(__name__)

StatusCallback = Callable[[dict[str, Any]], None]


@dataclass
class RunLimits:
    """When :meth:`Pipeline.run` returns (besides the source ending or :meth:`stop`)."""

    max_frames: int = 0  # 0 = no limit
    duration_s: float = 0.0  # 0 = no limit


@dataclass
class Pipeline:
    """One running pipeline; build it with :func:`firmware_py.pipeline.build.build_pipeline`
    or by hand, then :meth:`run`."""

    processor: FrameProcessor
    source: FrameSource
    sinks: Sequence[Sink]
    device: str
    capture_config: CaptureConfig = field(default_factory=CaptureConfig)
    telemetry: Telemetry = field(default_factory=Telemetry)
    stats_period_s: float = 2.0
    health_file: Path | None = None
    on_stats: StatusCallback | None = None
    on_frame: Callable[[FrameResult], None] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._capture: Capture | None = None
        self.frames = 0

    def stop(self) -> None:
        """Ask the loop to finish after the current frame (safe from a signal handler)."""
        self._stop.set()

    def run(self, limits: RunLimits | None = None) -> dict[str, Any]:
        """Process frames until the source ends, :meth:`stop`, or ``limits``; returns the
        last stats."""
        limits = limits or RunLimits()
        self._capture = capture = Capture(self.source, self.capture_config)
        queue = capture.attach()
        start = last_stats = time.monotonic()
        stats: dict[str, Any] = {}
        with capture:
            while not self._stop.is_set():
                t = time.perf_counter()
                frame = queue.get(timeout=0.25)
                if frame is None:
                    if queue.closed:
                        break
                    continue
                self._one(frame, time.perf_counter() - t)
                now = time.monotonic()
                if now - last_stats >= self.stats_period_s:
                    stats, last_stats = self._report(now), now
                if (limits.max_frames and self.frames >= limits.max_frames) or \
                        (limits.duration_s and now - start >= limits.duration_s):
                    break
        stats = self._report(time.monotonic())
        for sink in self.sinks:
            _guard(sink.close, sink)
        return stats

    def _one(self, frame, wait_s: float) -> None:
        result = self.processor(frame)
        t = time.perf_counter()
        message = DetectionMessage.from_detections(
            self.device, frame.frame_id, frame.t_wall, result.tiles_run, result.tiles_total,
            result.detections, self.processor.detector.labels)
        for sink in self.sinks:
            _guard(sink.publish_detections, sink, message)
        if self.on_frame is not None:
            self.on_frame(result)
        timings = {**result.timings, "capture": wait_s, "sink": time.perf_counter() - t}
        now = time.monotonic()
        tel = self.telemetry
        tel.count("inference", now=now)
        tel.count("tiles", result.tiles_run, now=now)
        tel.gauge("grid_tiles", result.tiles_total)
        tel.gauge("detections", len(result.detections))
        for stage, seconds in timings.items():
            tel.observe(stage_name(stage), 1000.0 * seconds, now=now)
        tel.observe("latency_ms", 1000.0 * (now - frame.t_monotonic), now=now)
        self.frames += 1

    def _report(self, now: float) -> dict[str, Any]:
        stats = self.telemetry.snapshot(now)
        if self._capture is not None:
            cap = self._capture.stats()
            stats.update(camera_fps=cap.camera_fps, frames_captured=cap.frames,
                         skipped_total=cap.dropped, reconnects=cap.reconnects,
                         gap_s=cap.gap_s, source_connected=cap.connected,
                         source_running=cap.running)
        stats.update(self.info, frames=self.frames, mode=self.processor.mode)
        for sink in self.sinks:
            _guard(sink.publish_stats, sink, stats)
        if self.on_stats is not None:
            self.on_stats(stats)
        if self.health_file is not None:
            write_health(self.health_file, stats)
        return stats


def _guard(method: Callable[..., Any], sink: Sink, *args: Any) -> None:
    try:
        method(*args)
    except Exception:
        log.exception("sink %s failed; continuing", type(sink).__name__)


def source_lost(stats: dict[str, Any]) -> bool:
    """The capture is running but its source is down (reconnecting)."""
    return bool(stats.get("source_running")) and stats.get("source_connected") is False


def write_health(path: Path, stats: dict[str, Any]) -> None:
    """Atomically rewrite the health file (write a temp file, rename over)."""
    health = {"t_wall": time.time(), "frames": stats.get("frames", 0),
              "fps": stats.get("inference_fps") or 0.0, "bundle": stats.get("bundle"),
              "model": stats.get("model"),
              "ok": stats.get("frames", 0) > 0 and not source_lost(stats)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(health))
    os.replace(tmp, path)
