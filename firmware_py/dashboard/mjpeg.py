"""Motion JPEG over HTTP: ``multipart/x-mixed-replace`` (RFC 2046 section 5.1; the mixed-replace
subtype is Netscape's "An Exploration of Dynamic Documents", 1995), one JPEG per part, as IP
cameras serve it and browsers and VLC play it.

Each part is ``--<boundary>`` CRLF, ``Content-Type: image/jpeg`` and ``Content-Length``
headers, a blank line, the JPEG, CRLF. ``Content-Length`` is not required by RFC 2046 but lets a
reader take a part without scanning the JPEG for the boundary (the dashboard page does).

Encoding is lazy: :meth:`MjpegEncoder.offer` only keeps a reference to the newest frame (the
capture thread's arrays are read-only and never reused); a worker thread draws and encodes
only while at least one client watches, at most ``max_fps`` times a second, always the newest
frame, so frames that arrive faster are skipped and the pipeline never waits for JPEG work.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from firmware_py.dashboard.broadcast import Broadcast
from firmware_py.dashboard.overlay import Overlay, render

log = logging.getLogger(__name__)

BOUNDARY = "specksframe"
MEDIA_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"


def part(jpeg: bytes) -> bytes:
    """One multipart part carrying ``jpeg``."""
    head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {len(jpeg)}\r\n\r\n").encode()
    return head + jpeg + b"\r\n"


def encode_jpeg(image_rgb: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image_rgb.shape} frame as JPEG")
    return data.tobytes()


class MjpegEncoder:
    """Turns the newest offered frame into a multipart part for ``parts`` subscribers."""

    def __init__(self, parts: Broadcast[bytes], quality: int, max_fps: float,
                 max_width: int) -> None:
        self._parts = parts
        self._quality, self._period, self._max_width = quality, 1.0 / max_fps, max_width
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, Overlay] | None = None
        self._fresh = False
        self._closed = False
        self._next_due = 0.0
        self._names: list[str] = []
        self._thread = threading.Thread(target=self._run, name="dashboard-mjpeg", daemon=True)
        self.encoded = 0
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def offer(self, frame: np.ndarray, overlay: Overlay) -> None:
        """Keep ``frame`` (not copied: it must not change afterwards) as the newest."""
        with self._cond:
            self._latest = (frame, overlay)
            self._fresh = True
            self._cond.notify()

    def refresh(self) -> None:
        """Encode the newest frame again (a client has just connected)."""
        with self._cond:
            self._fresh = self._latest is not None
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _ready(self) -> bool:
        return self._closed or (self._fresh and self._parts.subscribers > 0)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(self._ready)
                if self._closed:
                    return
                delay = self._next_due - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)  # newer frames replace _latest meanwhile
                    continue
                assert self._latest is not None
                frame, overlay = self._latest
                self._fresh = False
            self._next_due = time.monotonic() + self._period
            self._encode(frame, overlay)

    def _encode(self, frame: np.ndarray, overlay: Overlay) -> None:
        try:
            jpeg = encode_jpeg(render(frame, overlay, self._names, self._max_width),
                               self._quality)
        except (cv2.error, ValueError, IndexError):
            self.errors += 1
            log.warning("dashboard: could not draw or encode a frame", exc_info=True)
            return
        self.encoded += 1
        self._parts.publish(part(jpeg))
