"""``v4l2``: a USB (UVC) camera through OpenCV's V4L2 backend, ``/dev/videoN`` or index N.

The FOURCC, size, rate and a one-buffer driver queue are passed as open-time ``params`` (the
driver must know the pixel format before it accepts a size). ``MJPG`` is the default because
most UVC cameras deliver full HD at full rate only compressed over USB 2; ``YUYV`` avoids the
JPEG decode where the bus allows. The driver may substitute the nearest mode it supports; the
size it chose is logged at open.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import cv2
from pydantic import Field

from firmware_py.sources import SourceConfig, SourceError, register_source
from firmware_py.sources.videocapture import CaptureArgs, VideoCaptureSource


class V4L2Config(SourceConfig):
    type: Literal["v4l2"] = "v4l2"
    device: str = Field("/dev/video0", pattern=r"^(/dev/\S+|\d+)$",
                        description="device node, or its index N for /dev/videoN")
    width: int = Field(1920, ge=16, le=8192, description="requested frame width")
    height: int = Field(1080, ge=16, le=8192, description="requested frame height")
    fps: float = Field(30.0, gt=0.0, le=1000.0, description="requested frame rate")
    fourcc: str = Field("MJPG", pattern=r"^[A-Za-z0-9 ]{4}$",
                        description="pixel format, e.g. MJPG or YUYV")
    buffers: int = Field(1, ge=1, le=8, description="driver queue depth; 1 keeps no stale "
                         "frames in the kernel")


@register_source
class V4L2Source(VideoCaptureSource):
    key = "v4l2"
    config_cls = V4L2Config
    config: V4L2Config

    def capture_args(self) -> CaptureArgs:
        cfg = self.config
        target: str | int = int(cfg.device) if re.fullmatch(r"\d+", cfg.device) else cfg.device
        params = [cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*cfg.fourcc),
                  cv2.CAP_PROP_FRAME_WIDTH, cfg.width,
                  cv2.CAP_PROP_FRAME_HEIGHT, cfg.height,
                  cv2.CAP_PROP_FPS, round(cfg.fps),  # NOTE: open-time params are ints
                  cv2.CAP_PROP_BUFFERSIZE, cfg.buffers]
        return target, cv2.CAP_V4L2, params

    def open(self) -> None:
        target = self.capture_args()[0]
        node = Path(f"/dev/video{target}" if isinstance(target, int) else target)
        if not node.exists():
            raise SourceError(f"{self.name}: no camera at {node} (unplugged?)")
        super().open()
