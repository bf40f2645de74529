"""``gstreamer``: a GStreamer pipeline string opened by OpenCV (``cv2.CAP_GSTREAMER``).

The way to a Jetson CSI camera: ``nvarguscamerasrc`` delivers NV12 in NVMM memory,
``nvvidconv`` copies it to system memory as BGRx, ``videoconvert`` drops the pad byte, and
the pipeline must end in an ``appsink`` for OpenCV to pull from. ``drop=1 max-buffers=1``
makes the appsink keep only the newest buffer, so a slow reader never lags behind the sensor
(the same never-lag rule as the capture queue)::

    nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM),width=1920,height=1080,
    framerate=30/1,format=NV12 ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert !
    video/x-raw,format=BGR ! appsink drop=1 max-buffers=1

(one line in the config). OpenCV needs a build with GStreamer (JetPack's is; the pip wheels
are not always): without it every open fails with a clear :class:`SourceError` and the
capture keeps retrying.
"""

from __future__ import annotations

from typing import Literal

import cv2
from pydantic import Field, field_validator

from firmware_py.sources import SourceConfig, register_source
from firmware_py.sources.videocapture import CaptureArgs, VideoCaptureSource

JETSON_CSI_PIPELINE = (
    "nvarguscamerasrc sensor-id=0 ! "
    "video/x-raw(memory:NVMM),width=1920,height=1080,framerate=30/1,format=NV12 ! "
    "nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! "
    "appsink drop=1 max-buffers=1"
)


class GStreamerConfig(SourceConfig):
    type: Literal["gstreamer"] = "gstreamer"
    pipeline: str = Field(JETSON_CSI_PIPELINE, min_length=1, max_length=4096,
                          description="gst-launch style pipeline ending in an appsink that "
                          "delivers BGR")

    @field_validator("pipeline")
    @classmethod
    def _ends_in_appsink(cls, pipeline: str) -> str:
        last = pipeline.rsplit("!", 1)[-1].split()
        if not last or last[0] != "appsink":
            raise ValueError("the pipeline must end in an appsink element for OpenCV")
        return pipeline


@register_source
class GStreamerSource(VideoCaptureSource):
    key = "gstreamer"
    config_cls = GStreamerConfig
    config: GStreamerConfig

    def capture_args(self) -> CaptureArgs:
        return self.config.pipeline, cv2.CAP_GSTREAMER, []

    def describe(self) -> str:
        return f"pipeline {self.config.pipeline.split('!', 1)[0].strip()!r} ! ..."
