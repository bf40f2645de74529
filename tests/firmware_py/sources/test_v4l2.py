"""V4L2 source: VideoCapture arguments, and a missing camera is a clear, retried error."""

import time

import cv2
import pytest

from firmware_py.sources import SourceError, create_source
from firmware_py.sources.capture import Capture, CaptureConfig
from firmware_py.sources.v4l2 import V4L2Config, V4L2Source


def test_capture_args_use_the_v4l2_backend_with_open_time_properties() -> None:
    src = V4L2Source(V4L2Config(device="/dev/video2", width=1280, height=720, fps=60,
                                fourcc="YUYV", buffers=2))
    target, api, params = src.capture_args()
    assert target == "/dev/video2" and api == cv2.CAP_V4L2
    props = dict(zip(params[::2], params[1::2], strict=True))
    assert props == {cv2.CAP_PROP_FOURCC: cv2.VideoWriter_fourcc(*"YUYV"),
                     cv2.CAP_PROP_FRAME_WIDTH: 1280, cv2.CAP_PROP_FRAME_HEIGHT: 720,
                     cv2.CAP_PROP_FPS: 60, cv2.CAP_PROP_BUFFERSIZE: 2}
    assert params[0] == cv2.CAP_PROP_FOURCC  # the driver needs the format before the size


def test_an_index_selects_dev_video_n() -> None:
    assert V4L2Source(V4L2Config(device="3")).capture_args()[0] == 3


def test_missing_device_is_a_clear_source_error() -> None:
    with pytest.raises(SourceError, match="no camera at /dev/video97"):
        create_source({"type": "v4l2", "device": "97"}).open()


def test_a_node_that_is_not_a_camera_fails_in_opencv_with_the_backend_named() -> None:
    with pytest.raises(SourceError, match="V4L2"):
        V4L2Source(V4L2Config(device="/dev/null")).open()


def test_missing_device_is_retried_by_the_capture_not_a_crash() -> None:
    capture = Capture(V4L2Source(V4L2Config(device="/dev/video97")),
                      CaptureConfig(backoff_initial_s=0.01, backoff_max_s=0.02))
    with capture:
        time.sleep(0.15)
        stats = capture.stats()
        assert capture.running
    assert stats.failures >= 3 and stats.frames == 0 and not stats.connected
    assert "/dev/video97" in stats.last_error


def test_config_rejects_bad_fourcc_and_device() -> None:
    with pytest.raises(ValueError):
        V4L2Config(fourcc="MJPEG")
    with pytest.raises(ValueError):
        V4L2Config(device="video0")
