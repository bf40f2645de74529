"""The :class:`Dashboard` sink: see :mod:`firmware_py.dashboard` for what it serves."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from firmware_py.dashboard import sse
from firmware_py.dashboard.broadcast import Broadcast
from firmware_py.dashboard.config import DashboardConfig
from firmware_py.dashboard.mjpeg import MjpegEncoder
from firmware_py.dashboard.overlay import Overlay
from firmware_py.dashboard.page import page_html
from firmware_py.dashboard.server import DashboardServer
from firmware_py.sinks import Sink
from firmware_py.sinks.message import DetectionMessage, dumps, jsonable

__all__ = ["Dashboard"]

MJPEG_QUEUE = 2  # parts queued per viewer: a viewer sees the newest frames, never old ones


class Dashboard(Sink):
    key = "dashboard"
    config_cls = DashboardConfig
    config: DashboardConfig

    def __init__(self, config: DashboardConfig | None = None) -> None:
        super().__init__(config or DashboardConfig())
        cfg = self.config
        self.token = cfg.token
        self.page = page_html()
        self.events: Broadcast[bytes] = Broadcast(cfg.event_queue, cfg.max_clients)
        self.parts: Broadcast[bytes] = Broadcast(MJPEG_QUEUE, cfg.max_clients)
        self._encoder = MjpegEncoder(self.parts, cfg.jpeg_quality, cfg.max_fps, cfg.max_width)
        self._lock = threading.Lock()
        self._info: dict[str, Any] = {}
        self._stats: dict[str, Any] | None = None
        self._history: deque[dict[str, Any]] = deque(maxlen=cfg.history)
        self._detections: DetectionMessage | None = None
        self._server: DashboardServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.frames = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        """Bind, start serving in a background thread, and return the page's URL (without the
        token). Raises ``OSError`` if the address cannot be bound."""
        if self._server is not None or self._stopped:
            raise RuntimeError("a Dashboard starts once")
        host, port = self.config.host, self.config.port
        try:
            self._server = DashboardServer(host, port, self)
        except OSError as e:
            raise OSError(e.errno, f"dashboard: cannot bind {host} port {port}: "
                          f"{e.strerror or e}; choose another with --dashboard HOST:PORT "
                          "(or the profile's dashboard.port)") from e
        self._encoder.start()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": 0.2}, name="dashboard-http", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Dashboard is not started")
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def stop(self) -> None:
        """End every stream, stop the server and the encoder; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.events.close()
        self.parts.close()
        self._encoder.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def close(self) -> None:
        self.stop()

    # -- what the pipeline calls -------------------------------------------------------------

    def publish_frame(self, frame_rgb: np.ndarray, boxes: np.ndarray | Sequence[Any] = (),
                      labels: Sequence[str] = (), scores: np.ndarray | Sequence[float] = (),
                      tiles: np.ndarray | Sequence[Any] = (),
                      interpolated: np.ndarray | Sequence[bool] = ()) -> None:
        """Offer one frame (H, W, 3) uint8 RGB for the live view with its boxes (N, 4) xyxy,
        class names (N,), scores (N,), the tile windows run on it (T, 4) xyxy, and which boxes
        were carried forward (N,) bool (empty: none). The frame is kept by reference and must
        not change afterwards; nothing is drawn or encoded unless a viewer is connected."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"frame_rgb must be (H, W, 3) uint8 RGB, got {frame_rgb.shape} "
                             f"{frame_rgb.dtype}")
        self._encoder.offer(frame_rgb, Overlay(boxes, tuple(labels), scores, tiles,
                                               interpolated))
        self.frames += 1

    def set_info(self, board: str | None = None, bundle: str | None = None,
                 model: str | None = None, mode: str | None = None, **extra: Any) -> None:
        """Update what the page's header shows; ``None`` leaves a field as it was."""
        given = {"board": board, "bundle": bundle, "model": model, "mode": mode, **extra}
        with self._lock:
            self._info.update({k: jsonable(v) for k, v in given.items() if v is not None})
            info = dict(self._info)
        if self.events.subscribers:
            self.events.publish(sse.event("info", dumps(info)))

    def publish_detections(self, message: DetectionMessage) -> None:
        with self._lock:
            self._detections = message
        if self.events.subscribers:
            self.events.publish(sse.event("detections", message.to_json()))

    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        snapshot = jsonable(dict(stats))
        with self._lock:
            self._stats = snapshot
            self._history.append(snapshot)
        if self.events.subscribers:
            self.events.publish(sse.event("stats", dumps(snapshot)))

    def counters(self) -> dict[str, int]:
        return {"viewers": self.parts.subscribers, "listeners": self.events.subscribers,
                "frames_encoded": self._encoder.encoded, "encode_errors": self._encoder.errors,
                "dropped": self.parts.dropped + self.events.dropped}

    # -- what the server calls ---------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The snapshot served at ``/api/state``."""
        with self._lock:
            detections = self._detections
            state = {"info": dict(self._info), "stats": self._stats,
                     "history": list(self._history), "history_length": self.config.history}
        state["detections"] = detections.to_dict() if detections is not None else None
        state["counters"] = {**self.counters(), "frames_published": self.frames}
        return state

    def snapshot_events(self) -> bytes:
        """What a new ``/events`` client gets first: the current info, stats and detections."""
        with self._lock:
            info, stats, detections = dict(self._info), self._stats, self._detections
        out = sse.event("info", dumps(info))
        if stats is not None:
            out += sse.event("stats", dumps(stats))
        if detections is not None:
            out += sse.event("detections", detections.to_json())
        return out

    def stream_opened(self) -> None:
        self._encoder.refresh()
