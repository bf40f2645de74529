"""GStreamer source: pipeline handed to OpenCV's GStreamer backend; failures are retried."""

import time

import cv2
import pytest

from firmware_py.sources import SourceError
from firmware_py.sources.capture import Capture, CaptureConfig
from firmware_py.sources.gstreamer import JETSON_CSI_PIPELINE, GStreamerConfig, GStreamerSource

BROKEN = "nosuchelement ! appsink drop=1 max-buffers=1"


def test_default_is_the_jetson_csi_pipeline_through_the_gstreamer_backend() -> None:
    target, api, params = GStreamerSource(GStreamerConfig()).capture_args()
    assert target == JETSON_CSI_PIPELINE and api == cv2.CAP_GSTREAMER and params == []
    assert target.startswith("nvarguscamerasrc")
    assert target.endswith("appsink drop=1 max-buffers=1")


def test_a_pipeline_must_end_in_an_appsink() -> None:
    with pytest.raises(ValueError, match="appsink"):
        GStreamerConfig(pipeline="videotestsrc ! autovideosink")
    GStreamerConfig(pipeline="videotestsrc ! videoconvert ! appsink")


def test_a_pipeline_that_cannot_open_is_a_source_error_and_retried() -> None:
    with pytest.raises(SourceError, match="GSTREAMER"):
        GStreamerSource(GStreamerConfig(pipeline=BROKEN)).open()
    capture = Capture(GStreamerSource(GStreamerConfig(pipeline=BROKEN)),
                      CaptureConfig(backoff_initial_s=0.01, backoff_max_s=0.02))
    with capture:
        time.sleep(0.1)
        assert capture.running
    assert capture.stats().failures >= 2
