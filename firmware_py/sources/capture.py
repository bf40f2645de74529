"""The capture thread: reads a :class:`FrameSource`, stamps and queues frames, and keeps the
source alive.

Capture is separate from processing (picamera2's camera/consumer split; Frigate's capture
process): one thread owns the source and the frame buffers; each consumer attaches its own
:class:`LatestFrames` queue of at most two frames (one by default). When a consumer is slower
than the camera the oldest queued frame is dropped and counted, so a consumer always gets the
newest frames and never builds lag (Frigate's rule: drop frames, never fall behind).

Memory: a 1080p RGB frame is 6 MB, and every frame alive counts against a Pi Zero 2 W's
budget. The consumer holds one frame, its queue at most ``queue_size`` more, and the thread
one while it decodes: without drops (offline files) the thread decodes the next frame only
once every queue has room, so a finished frame never waits in the thread beside a full queue.

The same thread supervises the source. A failed ``open``, an exception from ``read`` or a
camera that stops delivering closes the source and reopens it after an exponential backoff
(``backoff_initial_s * backoff_factor**k``, capped at ``backoff_max_s``; reset by the first
good frame). A :class:`~firmware_py.sources.SourceUnavailable` (a missing or undecodable file,
a missing package) is not retried, and neither is a source past ``max_attempts`` failures in
a row: the capture ends and ``CaptureStats.failed`` says why, so the caller can exit non-zero.
While it retries, consumers keep running and simply wait; the stats report reconnects and the
gap, the seconds from the last frame before a failure to the first frame after it (an
outage still in progress counts up to now). Counters are Frigate-style named metrics:
``camera_fps`` over a monotonic-clock window, ``dropped``, ``reconnects``, ``gap_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from firmware_py.sources import (
    Frame,
    FrameSource,
    SourceError,
    SourceUnavailable,
    Streams,
    readonly,
)

log = logging.getLogger(__name__)


class CaptureConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queue_size: int = Field(1, ge=1, le=2, description="frames each consumer queue holds; "
                            "older ones are dropped (1: the consumer always gets the newest "
                            "frame, and a 1080p process holds one full frame less)")
    backoff_initial_s: float = Field(0.5, gt=0.0, le=60.0,
                                     description="wait before the first reopen")
    backoff_factor: float = Field(2.0, ge=1.0, le=10.0,
                                  description="growth of the wait per failed reopen")
    backoff_max_s: float = Field(10.0, gt=0.0, le=600.0, description="longest wait")
    max_attempts: int = Field(0, ge=0, le=1_000_000, description="consecutive failures "
                              "before the capture gives up; 0 = retry forever")
    fps_window_s: float = Field(5.0, ge=0.1, le=300.0, description="camera_fps window")
    drop: bool = Field(True, description="drop a consumer's oldest frame when it falls behind "
                       "(live cameras); False makes the source wait for room instead "
                       "(offline files: every frame is processed)")

    @model_validator(mode="after")
    def _ordered(self) -> CaptureConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be at least backoff_initial_s")
        return self


class Backoff:
    """Exponential waits, capped; :meth:`reset` after a success."""

    def __init__(self, initial: float, factor: float, maximum: float) -> None:
        self.initial, self.factor, self.maximum = initial, factor, maximum
        self._next = initial

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


class RateWindow:
    """Events per second over the last ``window`` seconds of ``time.monotonic``."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._ticks: deque[float] = deque()
        self._first: float | None = None

    def tick(self, now: float) -> None:
        self._first = now if self._first is None else self._first
        self._ticks.append(now)
        self._trim(now)

    def rate(self, now: float) -> float:
        self._trim(now)
        span = min(self.window, now - self._first) if self._first is not None else 0.0
        return len(self._ticks) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._ticks and self._ticks[0] <= now - self.window:
            self._ticks.popleft()


class LatestFrames:
    """A bounded queue that drops its oldest frame to make room, counting each drop; with
    ``drop=False`` a put waits for room instead (until the queue is closed)."""

    def __init__(self, maxsize: int = 2, drop: bool = True) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._frames: deque[Frame] = deque()
        self.maxsize = maxsize
        self.drop = drop
        self.dropped = 0
        self._cond = threading.Condition()
        self._closed = False

    def wait_room(self) -> None:
        """With ``drop=False``, block until a put would not wait (or the queue is closed);
        with ``drop=True`` return at once."""
        if self.drop:
            return
        with self._cond:
            self._cond.wait_for(lambda: len(self._frames) < self.maxsize or self._closed)

    def put(self, frame: Frame) -> None:
        with self._cond:
            if not self.drop:
                self._cond.wait_for(lambda: len(self._frames) < self.maxsize or self._closed)
            if len(self._frames) >= self.maxsize:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(frame)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The oldest queued frame; ``None`` on timeout, or once closed and drained."""
        with self._cond:
            self._cond.wait_for(lambda: self._frames or self._closed, timeout)
            if not self._frames:
                return None
            self._cond.notify_all()  # room for a waiting put
            return self._frames.popleft()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.get()) is not None:
            yield frame


@dataclass(frozen=True)
class CaptureStats:
    source: str
    camera_fps: float  # frames delivered per second over the window
    frames: int  # frames delivered since start
    dropped: int  # frames dropped by full consumer queues, all consumers together
    reconnects: int  # successful reopens after a failure
    failures: int  # failed opens plus lost reads
    gap_s: float  # seconds without frames because of failures, the current outage included
    connected: bool
    running: bool
    last_error: str | None
    failed: str | None = None  # why the capture ended without the source ending, if it did


class Capture:
    """Runs ``source`` in a daemon thread; ``attach()`` a queue per consumer, then ``start()``.

    Use as a context manager, or call :meth:`stop`. The capture ends by itself when a finite
    source runs out or ``max_attempts`` consecutive failures pass; the queues are then closed,
    so consumers iterating them stop after the last frame.
    """

    def __init__(self, source: FrameSource, config: CaptureConfig | None = None) -> None:
        self.source = source
        self.config = config or CaptureConfig()
        self._queues: list[LatestFrames] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rate = RateWindow(self.config.fps_window_s)
        self._backoff = Backoff(self.config.backoff_initial_s, self.config.backoff_factor,
                                self.config.backoff_max_s)
        self._next_id = 0
        self._reconnects = self._failures = 0
        self._gap_s = 0.0
        self._gap_start: float | None = None
        self._last_frame_t: float | None = None
        self._started_t = 0.0
        self._connected = False
        self._last_error: str | None = None
        self._failed: str | None = None

    def attach(self, maxsize: int | None = None) -> LatestFrames:
        """A new consumer queue (``maxsize`` 1 or 2; default ``queue_size``)."""
        maxsize = maxsize or self.config.queue_size
        if not 1 <= maxsize <= 2:
            raise ValueError("a frame queue holds one or two frames, never a backlog")
        queue = LatestFrames(maxsize, self.config.drop)
        with self._lock:
            self._queues.append(queue)
        return queue

    def start(self) -> Capture:
        if self._thread is not None:
            raise RuntimeError("a Capture starts once")
        self._started_t = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.source.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            queues = list(self._queues)
        for queue in queues:  # wakes a put waiting for room (drop=False)
            queue.close()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s: capture thread still blocked in the source after %.1f s",
                            self.source.name, timeout)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> CaptureStats:
        now = time.monotonic()
        with self._lock:
            gap = self._gap_s + (now - self._gap_start if self._gap_start is not None else 0.0)
            return CaptureStats(
                source=self.source.name, camera_fps=self._rate.rate(now), frames=self._next_id,
                dropped=sum(q.dropped for q in self._queues), reconnects=self._reconnects,
                failures=self._failures, gap_s=gap, connected=self._connected,
                running=self.running, last_error=self._last_error, failed=self._failed)

    def _run(self) -> None:
        failed_in_a_row = 0
        try:
            while not self._stop.is_set():
                if self._connected or self._open():
                    self._wait_room()
                    streams = self._read()
                    if streams is _END:
                        log.info("%s: end of stream", self.source.name)
                        break
                    if isinstance(streams, Streams):
                        self._publish(streams)
                        failed_in_a_row = 0
                        self._backoff.reset()
                        continue
                failed_in_a_row += 1
                if self._failed is not None:
                    break
                if self.config.max_attempts and failed_in_a_row >= self.config.max_attempts:
                    self._failed = (f"gave up after {failed_in_a_row} failures in a row: "
                                    f"{self._last_error}")
                    break
                self._stop.wait(self._backoff.next())
        finally:
            self._close_source()
            with self._lock:
                queues = list(self._queues)
            for queue in queues:
                queue.close()

    def _wait_room(self) -> None:
        """Without drops, read the next frame only once every queue can take it: a frame
        decoded early would wait in this thread, one more full frame in memory."""
        with self._lock:
            queues = list(self._queues)
        for queue in queues:
            queue.wait_room()

    def _open(self) -> bool:
        try:
            self.source.open()
        except Exception as e:
            self._fail(e, "open")
            return False
        with self._lock:
            self._connected = True
            if self._failures:
                self._reconnects += 1
        log.info("%s: source open%s", self.source.name, " again" if self._failures else "")
        return True

    def _read(self) -> Streams | object:
        """Streams, ``_END`` at the end of a finite source, or ``None`` after a failure."""
        try:
            streams = self.source.read()
        except Exception as e:
            self._fail(e, "read")
            self._close_source()
            return None
        return _END if streams is None else streams

    def _fail(self, error: Exception, during: str) -> None:
        if isinstance(error, SourceUnavailable):
            with self._lock:
                self._failed = str(error)
        elif isinstance(error, SourceError):
            log.warning("%s: %s failed: %s", self.source.name, during, error)
        else:
            log.exception("%s: unexpected error during %s", self.source.name, during)
        with self._lock:
            self._failures += 1
            self._connected = False
            self._last_error = f"{type(error).__name__}: {error}"
            if self._gap_start is None:
                last = self._last_frame_t
                self._gap_start = self._started_t if last is None else last

    def _close_source(self) -> None:
        try:
            self.source.close()
        except Exception:
            log.warning("%s: close failed", self.source.name, exc_info=True)
        with self._lock:
            self._connected = False

    def _publish(self, streams: Streams) -> None:
        t_monotonic, t_wall = time.monotonic(), time.time()
        main, lores = streams.main, streams.lores
        if lores is None:
            lores = self._downscale(main)
        with self._lock:
            frame = Frame(self._next_id, t_monotonic, t_wall, readonly(main), readonly(lores),
                          self.source.name, streams.index)
            self._next_id += 1
            if self._gap_start is not None:
                self._gap_s += t_monotonic - self._gap_start
                self._gap_start = None
            self._last_frame_t = t_monotonic
            self._rate.tick(t_monotonic)
            queues = list(self._queues)
        for queue in queues:
            queue.put(frame)

    def _downscale(self, main: np.ndarray) -> np.ndarray:
        width, height = self.source.config.lores_size
        if main.shape[1] == width and main.shape[0] == height:
            return main
        return cv2.resize(main, (width, height), interpolation=cv2.INTER_AREA)


_END = object()
