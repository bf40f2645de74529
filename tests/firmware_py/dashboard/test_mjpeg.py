"""MJPEG parts and the lazy, rate-limited encoder."""

from __future__ import annotations

import email.parser
import email.policy
import time

import cv2
import numpy as np

from firmware_py.dashboard.broadcast import Broadcast
from firmware_py.dashboard.mjpeg import BOUNDARY, MEDIA_TYPE, MjpegEncoder, encode_jpeg, part
from firmware_py.dashboard.overlay import Overlay


def frame(value: int, height: int = 120, width: int = 160) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


def test_parts_split_by_an_rfc2046_parser_give_decodable_jpegs():
    jpegs = [encode_jpeg(frame(v), 80) for v in (30, 200)]
    body = b"".join(part(j) for j in jpegs) + f"--{BOUNDARY}--\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        f"Content-Type: {MEDIA_TYPE}\r\n\r\n".encode() + body)
    parts = message.get_payload()
    assert [p.get_content_type() for p in parts] == ["image/jpeg"] * 2
    for payload, jpeg, value in zip((p.get_payload(decode=True) for p in parts), jpegs,
                                    (30, 200), strict=True):
        assert payload == jpeg
        decoded = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (120, 160, 3) and abs(int(decoded.mean()) - value) <= 2


def test_jpeg_keeps_rgb_order():
    image = np.zeros((64, 64, 3), np.uint8)
    image[..., 0] = 255  # red in RGB
    bgr = cv2.imdecode(np.frombuffer(encode_jpeg(image, 90), np.uint8), cv2.IMREAD_COLOR)
    assert bgr[32, 32, 2] > 240 and bgr[32, 32, 0] < 15


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_nothing_is_encoded_until_someone_watches_then_the_newest_frame_is():
    parts: Broadcast[bytes] = Broadcast(maxsize=2, max_subscribers=4)
    encoder = MjpegEncoder(parts, quality=80, max_fps=50.0, max_width=1280)
    encoder.start()
    try:
        for value in (10, 20, 30):
            encoder.offer(frame(value), Overlay())
        time.sleep(0.2)
        assert encoder.encoded == 0
        viewer = parts.subscribe()
        encoder.refresh()
        assert wait_until(lambda: encoder.encoded == 1)
        jpeg = viewer.get(timeout=1.0)
        assert jpeg is not None
        data = jpeg[jpeg.index(b"\r\n\r\n") + 4:-2]
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert abs(int(decoded.mean()) - 30) <= 2  # the newest, not the first
    finally:
        encoder.close()


def test_frames_offered_faster_than_max_fps_are_skipped():
    parts: Broadcast[bytes] = Broadcast(maxsize=2, max_subscribers=4)
    encoder = MjpegEncoder(parts, quality=50, max_fps=5.0, max_width=1280)
    encoder.start()
    parts.subscribe()
    offered, start = 0, time.monotonic()
    try:
        while time.monotonic() - start < 1.0:
            encoder.offer(frame(offered % 250), Overlay())
            offered += 1
            time.sleep(0.005)
        elapsed = time.monotonic() - start
    finally:
        encoder.close()
    assert offered > 50
    assert 1 <= encoder.encoded <= elapsed * 5.0 + 1
