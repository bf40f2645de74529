"""URL source: FFmpeg backend with timeouts; a dead stream is a clear, retried error."""

import os
import time

import cv2
import pytest

from firmware_py.sources import SourceError
from firmware_py.sources.capture import Capture, CaptureConfig
from firmware_py.sources.url import FFMPEG_OPTIONS, URLConfig, URLSource

DEAD = "rtsp://user:secret@127.0.0.1:1/stream"  # port 1: connection refused at once


def test_capture_args_use_ffmpeg_with_open_and_read_timeouts() -> None:
    target, api, params = URLSource(URLConfig(url=DEAD, timeout_s=2.5)).capture_args()
    assert target == DEAD and api == cv2.CAP_FFMPEG
    assert dict(zip(params[::2], params[1::2], strict=True)) == {
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC: 2500, cv2.CAP_PROP_READ_TIMEOUT_MSEC: 2500}


def test_a_dead_stream_is_a_source_error_without_the_password(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FFMPEG_OPTIONS, raising=False)
    with pytest.raises(SourceError, match="FFMPEG") as info:
        URLSource(URLConfig(url=DEAD, timeout_s=1.0, rtsp_transport="udp")).open()
    assert "secret" not in str(info.value)
    assert os.environ[FFMPEG_OPTIONS] == "rtsp_transport;udp"


def test_a_dead_stream_is_retried_by_the_capture() -> None:
    capture = Capture(URLSource(URLConfig(url="http://127.0.0.1:1/video.mjpg", timeout_s=1.0)),
                      CaptureConfig(backoff_initial_s=0.01, backoff_max_s=0.02))
    with capture:
        time.sleep(0.1)
        assert capture.running
    assert capture.stats().failures >= 2


def test_only_stream_schemes_are_accepted() -> None:
    with pytest.raises(ValueError):
        URLConfig(url="/dev/video0")
    URLConfig(url="https://cam.local/stream.mjpg")
