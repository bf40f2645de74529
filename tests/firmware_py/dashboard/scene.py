"""A stand-in for the pipeline feeding a dashboard: a synthetic scene of small squares drifting
over a gradient, their boxes as detections (some carried forward), the tiles "run" on each
frame, and stats under the telemetry's key names."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_py.dashboard import Dashboard
from firmware_py.sinks.message import DetectionMessage
from firmware_py.sinks.stamp import RunStamp

WIDTH, HEIGHT, TILE = 640, 360, 160
NAMES = ("speck", "bird")
TOKEN = "test-token-0123456789abcdef"
BACKLOG = 150  # stats snapshots published before the page opens
RUN = RunStamp()  # the stand-in's run: its id on every message


@dataclass(frozen=True)
class Scene:
    frame: np.ndarray  # (H, W, 3) uint8 RGB
    boxes: np.ndarray  # (N, 4) xyxy
    labels: tuple[str, ...]
    scores: np.ndarray  # (N,)
    tiles: np.ndarray  # (T, 4) xyxy
    interpolated: np.ndarray  # (N,) bool


def scene(t: int) -> Scene:
    """Frame ``t``: three squares (6, 10, 16 px) bouncing at different speeds."""
    ramp = np.linspace(40, 120, WIDTH, dtype=np.float32)
    frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    frame[:] = ramp[None, :, None].astype(np.uint8)
    boxes = []
    for i, (size, vx, vy) in enumerate(((6, 7, 3), (10, -4, 5), (16, 3, -2))):
        x = abs((40 + 97 * i + vx * t) % (2 * (WIDTH - size)) - (WIDTH - size))
        y = abs((30 + 61 * i + vy * t) % (2 * (HEIGHT - size)) - (HEIGHT - size))
        frame[y:y + size, x:x + size] = (250, 240 - 80 * i, 60 + 90 * i)
        boxes.append((x, y, x + size, y + size))
    columns, rows = WIDTH // TILE, math.ceil(HEIGHT / TILE)
    picks = [(t + k) % (columns * rows) for k in (0, 3)]
    tiles = np.array([(c * TILE, r * TILE, c * TILE + TILE, r * TILE + TILE)
                      for c, r in ((p % columns, p // columns) for p in picks)])
    return Scene(frame, np.array(boxes, np.float32), (NAMES[0], NAMES[1], NAMES[0]),
                 np.array([0.9, 0.7, 0.55], np.float32), tiles,
                 np.array([False, t % 2 == 1, False]))


def stats(n: int) -> dict[str, Any]:
    """Stats snapshot ``n``, under the telemetry's key names, numbers that wander."""
    return {"inference_fps": 12.0 + 3.0 * math.sin(n / 4), "camera_fps": 25.0 - n % 3,
            "tiles_per_frame": 2.0 + n % 4, "power_w": 4.2 + 0.8 * math.sin(n / 3),
            "budget_w": 5.0 if n % 80 < 50 else 4.0, "power_source": "stand-in",
            "latency_ms": 40.0 + n % 7, "sinks": {"mqtt": {"dropped": n // 10}},
            "run_id": RUN.run_id, "seq": RUN.next(),
            "mqtt_state": "connected" if n < 0 else "disconnected",
            "spool_depth": 0 if n < 0 else 3 + n}


class Feeder:
    """Publishes frames, detections and stats to ``dashboard`` at ``fps`` until stopped."""

    def __init__(self, dashboard: Dashboard, fps: float = 25.0) -> None:
        self.dashboard, self.period = dashboard, 1.0 / fps
        self.published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def start(self) -> Feeder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        t = 0
        while not self._stop.wait(self.period):
            s = scene(t)
            self.dashboard.publish_frame(s.frame, s.boxes, s.labels, s.scores, s.tiles,
                                         s.interpolated)
            self.dashboard.publish_detections(DetectionMessage(
                "cam0", t, time.time(), len(s.tiles), 8, s.boxes, s.scores,
                [NAMES.index(n) for n in s.labels], s.labels, s.interpolated,
                run_id=RUN.run_id, seq=RUN.next()))
            if t % 5 == 0:
                self.dashboard.publish_stats(stats(t // 5))
            if t % 50 == 0:
                self.dashboard.set_info(mode=f"sparse-k{2 + t // 50 % 3}")
            self.published = t = t + 1
