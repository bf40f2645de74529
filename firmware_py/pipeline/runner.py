"""The live loop: capture thread -> :class:`~firmware_py.pipeline.frame.FrameProcessor` ->
sinks, with telemetry, the power-budget governor, a one-line status and a health file.

The capture thread owns the source (reconnects with backoff, drops old frames: see
:mod:`firmware_py.sources.capture`); this loop takes the newest frame, processes it and
publishes one :class:`~firmware_py.sinks.message.DetectionMessage` per frame to every sink,
stamped with the run's id and the next sequence number of the emitter's
:class:`~firmware_py.sinks.stamp.RunStamp` (one run per pipeline; stats share the counter).
The :class:`~firmware_py.telemetry.TelemetryEmitter` reads the power sensor and, once per
period, publishes one stats record (fps, tiles per frame, stage latencies, power, energy,
temperature, the capture's drops, reconnects and gap, the governor's state) to the sinks and
the stats log; the same record feeds the status line and the health file (``--health-file``,
rewritten atomically; flashing waits for it). A sink that raises is logged and the loop goes
on: one broken output never stops detection.

With a power budget (sparse mode), the :class:`~firmware_py.governor.Governor` is asked for a
setpoint as each frame starts: the sampler's tile budget ``k`` for this frame, and the
earliest start of the next one (the loop waits; the capture queue drops the frames that
arrive meanwhile, which the stats count as skipped).

Stage times: ``capture`` is the wait for the next frame (0 when one is queued: the camera is
ahead); the other stages come from the frame processor, plus ``sink``.

Under systemd (``specks.service``, ``Type=notify``) the loop sends ``READY=1`` once the capture
runs, feeds the watchdog from each iteration (so a hung loop gets the service restarted) and
sends ``STOPPING=1`` on the way out (:mod:`firmware_py.device.sdnotify`). The loop's time comes
from a :class:`~firmware_py.pipeline.clock.LoopClock`: real time, or a virtual one in tests.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_py.device import health
from firmware_py.device.sdnotify import Notifier
from firmware_py.governor import Governor, GovernorConfig
from firmware_py.pipeline.clock import LoopClock, MonotonicClock
from firmware_py.pipeline.frame import FrameProcessor, FrameResult
from firmware_py.sinks import Sink
from firmware_py.sinks.message import DetectionMessage
from firmware_py.sources import Frame, FrameSource
from firmware_py.sources.capture import Capture, CaptureConfig
from firmware_py.telemetry import Telemetry, TelemetryEmitter, stage_name

log = logging.getLogger(__name__)

StatsCallback = Callable[[dict[str, Any]], None]


@dataclass
class RunLimits:
    """When :meth:`Pipeline.run` returns (besides the source ending or :meth:`stop`)."""

    max_frames: int = 0  # 0 = no limit
    duration_s: float = 0.0  # 0 = no limit


@dataclass
class Pipeline:
    """One running pipeline; build it with :func:`firmware_py.pipeline.build.build_pipeline`
    or by hand, then :meth:`run`. ``emitter`` publishes the stats to ``sinks`` (give it the
    same list)."""

    processor: FrameProcessor
    source: FrameSource
    sinks: Sequence[Sink]
    device: str
    emitter: TelemetryEmitter
    capture_config: CaptureConfig = field(default_factory=CaptureConfig)
    governor_config: GovernorConfig | None = None  # None = no power budget
    health_file: Path | None = None
    on_stats: StatsCallback | None = None
    on_frame: Callable[[FrameResult], None] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    clock: LoopClock = field(default_factory=MonotonicClock)
    notifier: Notifier = field(default_factory=Notifier.from_environment)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._capture: Capture | None = None
        self.governor: Governor | None = None
        self._governed = None  # the sampler the governor was built for
        self._tiles_run: int | None = None
        self._busy_s: float | None = None
        self._dropped = 0
        self.frames = 0
        self.last_stats: dict[str, Any] = {}
        if self.governor_config is not None and self.processor.mode != "sparse":
            log.warning("the power budget governs the tile budget of sparse mode; %s mode "
                        "runs ungoverned", self.processor.mode)
            self.governor_config = None
        for key, value in {**self.info, "mode": self.processor.mode}.items():
            self.telemetry.gauge(key, value)

    @property
    def telemetry(self) -> Telemetry:
        return self.emitter.telemetry

    @property
    def run_id(self) -> str:
        """This run's id, in every message it emits (:mod:`firmware_py.sinks.stamp`)."""
        return self.emitter.stamp.run_id

    def stop(self) -> None:
        """Ask the loop to finish after the current frame (safe from a signal handler)."""
        self._stop.set()

    def run(self, limits: RunLimits | None = None) -> dict[str, Any]:
        """Process frames until the source ends, :meth:`stop`, or ``limits``; returns the
        last stats record."""
        limits = limits or RunLimits()
        self._capture = capture = Capture(self.source, self.capture_config)
        queue = capture.attach()
        clock = self.clock
        start = clock.now()
        not_before = 0.0
        try:
            with capture:
                self.notifier.ready()
                while not self._stop.is_set():
                    self.notifier.watchdog()
                    if clock.wait(self._stop, not_before - clock.now()):
                        break
                    t = time.perf_counter()
                    frame = queue.get(timeout=0.25)
                    if frame is None:
                        if queue.closed:
                            break
                        continue
                    not_before = self._one(frame, time.perf_counter() - t)
                    del frame  # not kept alive while the next one is awaited
                    now = clock.now()
                    if (limits.max_frames and self.frames >= limits.max_frames) or \
                            (limits.duration_s and now - start >= limits.duration_s):
                        break
            self._publish(self.emitter.emit(clock.now()))
        finally:
            self.notifier.stopping()
            self.emitter.close()
            for sink in self.sinks:
                _guard(sink.close, sink)
        return self.last_stats

    @property
    def source_failure(self) -> str | None:
        """Why the source ended in failure (unavailable, or given up after retries), if it
        did; None while it runs, after it ended normally, or after :meth:`stop`."""
        return self._capture.stats().failed if self._capture is not None else None

    def _govern(self, now: float) -> float:
        """Apply the governor's setpoint for the frame starting now; the next frame's
        earliest start (0 without a governor)."""
        if self.governor_config is None or self.processor.grid is None:
            return 0.0
        sampler = self.processor.sampler
        if sampler is not self._governed:  # first frame, or a new frame size
            self.governor, self._governed = Governor.for_sampler(self.governor_config,
                                                                 sampler), sampler
        setpoint = self.governor.update(now, self.emitter.power_w, self._tiles_run,
                                        self._busy_s)
        sampler.set_budget(setpoint.budget)
        for key, value in self.governor.stats().items():
            self.telemetry.gauge(key, value)
        return now + setpoint.frame_interval_s

    def _one(self, frame: Frame, wait_s: float) -> float:
        now = self.clock.now()
        not_before = self._govern(now)
        result = self.processor(frame)
        if self._governed is None and self.governor_config is not None:
            not_before = self._govern(now)  # the grid exists from the first frame on
        t = time.perf_counter()
        message = DetectionMessage.from_detections(
            self.device, frame.frame_id, frame.t_wall, result.tiles_run, result.tiles_total,
            result.detections, self.processor.detector.labels,
            run_id=self.run_id, seq=self.emitter.stamp.next())
        for sink in self.sinks:
            _guard(sink.publish_detections, sink, message)
        if self.on_frame is not None:
            self.on_frame(result)
        self._count(frame, result, {**result.timings, "capture": wait_s,
                                    "sink": time.perf_counter() - t})
        self._tiles_run = result.tiles_run
        self._busy_s = self.clock.now() - now  # the frame's whole turn, sinks included
        self._publish(self.emitter.tick(self.clock.now()))
        self.frames += 1
        return not_before

    def _count(self, frame: Frame, result: FrameResult, timings: dict[str, float]) -> None:
        now, tel = self.clock.now(), self.telemetry
        tel.count("inference", now=now)
        tel.count("tiles", result.tiles_run, now=now)
        tel.gauge("grid_tiles", result.tiles_total)
        tel.gauge("detections", len(result.detections))
        for stage, seconds in timings.items():
            tel.observe(stage_name(stage), 1000.0 * seconds, now=now)
        tel.observe("latency_ms", 1000.0 * (time.monotonic() - frame.t_monotonic), now=now)
        if self._capture is not None:
            cap = self._capture.stats()
            if cap.dropped > self._dropped:  # frames the camera delivered that were not run
                tel.count("skipped", cap.dropped - self._dropped, now=now)
                self._dropped = cap.dropped
            for key, value in (("camera_fps", cap.camera_fps), ("reconnects", cap.reconnects),
                               ("gap_s", cap.gap_s),
                               ("source_connected", cap.connected),
                               ("source_running", cap.running)):
                tel.gauge(key, value)
        tel.gauge("frames_total", self.frames + 1)

    def _publish(self, stats: dict[str, Any] | None) -> None:
        """After the emitter sent a record: the status line and the health file."""
        if stats is None:
            return
        self.last_stats = stats
        if self.on_stats is not None:
            self.on_stats(stats)
        if self.health_file is not None:
            write_health(self.health_file, stats)


def _guard(method: Callable[..., Any], sink: Sink, *args: Any) -> None:
    try:
        method(*args)
    except Exception:
        log.exception("sink %s failed; continuing", type(sink).__name__)


def source_lost(stats: dict[str, Any]) -> bool:
    """The capture is running but its source is down (reconnecting)."""
    return bool(stats.get("source_running")) and stats.get("source_connected") is False


def write_health(path: Path, stats: dict[str, Any]) -> None:
    """Atomically rewrite the health file from a stats record; ``bundle`` is the resolved
    bundle path, so a record of the bundle that ran before a switch never passes for the new
    one (see :mod:`firmware_py.device.health`)."""
    frames = stats.get("frames_total", 0)
    bundle = stats.get("bundle")
    health.write_health(path, health.Health(
        t_wall=time.time(), frames=frames, fps=stats.get("inference_fps") or 0.0,
        bundle=os.path.realpath(bundle) if bundle else "", model=stats.get("model") or "",
        ok=frames > 0 and not source_lost(stats)))
