"""The Dashboard as the pipeline sees it: a Sink that also takes frames and info."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_py.dashboard import Dashboard, DashboardConfig
from firmware_py.sinks import Sink
from firmware_py.sinks.message import DetectionMessage


def test_it_is_a_sink_usable_before_start_and_after_stop():
    dashboard = Dashboard(DashboardConfig(port=0))
    assert isinstance(dashboard, Sink)
    dashboard.publish_detections(DetectionMessage("cam", 0, 0.0, 0, 1))
    dashboard.publish_stats({"power_w": 1.0})
    dashboard.publish_frame(np.zeros((8, 8, 3), np.uint8))
    assert dashboard.state()["stats"] == {"power_w": 1.0} and dashboard.frames == 1
    url = dashboard.start()
    assert url.startswith("http://127.0.0.1:") and url == dashboard.url
    with dashboard:
        pass
    dashboard.close()  # twice is fine
    dashboard.publish_stats({"power_w": 2.0})
    with pytest.raises(RuntimeError, match="starts once"):
        dashboard.start()


def test_frames_are_not_encoded_without_viewers():
    dashboard = Dashboard(DashboardConfig(port=0))
    dashboard.start()
    try:
        for _ in range(20):
            dashboard.publish_frame(np.zeros((90, 160, 3), np.uint8), [[1, 1, 5, 5]], ["a"],
                                    [0.9], [[0, 0, 80, 80]], [False])
        assert dashboard.counters()["frames_encoded"] == 0
    finally:
        dashboard.stop()


@pytest.mark.parametrize("frame", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8),
                                   np.zeros((8, 8, 3), np.float32)])
def test_frames_that_are_not_rgb_uint8_are_refused(frame: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 RGB"):
        Dashboard().publish_frame(frame)


def test_boxes_and_labels_must_agree():
    with pytest.raises(ValueError, match="differ in length"):
        Dashboard().publish_frame(np.zeros((8, 8, 3), np.uint8), [[0, 0, 1, 1]], [], [0.5])


def test_a_taken_port_is_named_in_the_error():
    first = Dashboard(DashboardConfig(port=0))
    port = int(first.start().rsplit(":", 1)[1].strip("/"))
    try:
        with pytest.raises(OSError, match=f"cannot bind 127.0.0.1 port {port}"):
            Dashboard(DashboardConfig(port=port)).start()
    finally:
        first.stop()
