"""``url``: a network stream (RTSP, HTTP MJPEG, RTMP) through OpenCV's FFmpeg backend.

Open and read timeouts are passed as open-time ``params`` so a dead camera raises within
``timeout_s`` instead of blocking the capture thread forever; the capture then reopens it
with backoff. FFmpeg's own RTSP buffering still adds some latency; the capture queue drops
whatever the pipeline cannot keep up with.
"""

from __future__ import annotations

import os
import re
from typing import Literal

import cv2
from pydantic import Field

from firmware_py.sources import SourceConfig, register_source
from firmware_py.sources.videocapture import CaptureArgs, VideoCaptureSource

FFMPEG_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


class URLConfig(SourceConfig):
    type: Literal["url"] = "url"
    url: str = Field("rtsp://127.0.0.1:8554/stream", max_length=4096,
                     pattern=r"^(rtsps?|https?|rtmp)://\S+$",
                     description="stream address; credentials inline (rtsp://user:pw@host/..)")
    timeout_s: float = Field(5.0, ge=0.1, le=120.0,
                             description="open and read timeout before the stream counts "
                             "as lost")
    rtsp_transport: Literal["tcp", "udp"] = Field("tcp", description="RTSP transport; TCP "
                                                  "survives lossy links without smearing")


@register_source
class URLSource(VideoCaptureSource):
    key = "url"
    config_cls = URLConfig
    config: URLConfig

    def capture_args(self) -> CaptureArgs:
        ms = round(self.config.timeout_s * 1000)
        return (self.config.url, cv2.CAP_FFMPEG,
                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])

    def describe(self) -> str:
        return re.sub(r"//[^/@]*@", "//***@", self.config.url)  # keep passwords out of logs

    def open(self) -> None:
        if self.config.url.startswith("rtsp"):
            # NOTE: OpenCV reads FFmpeg options only from this process-wide variable, so two
            # RTSP sources with different transports cannot coexist in one process.
            os.environ[FFMPEG_OPTIONS] = f"rtsp_transport;{self.config.rtsp_transport}"
        super().open()
