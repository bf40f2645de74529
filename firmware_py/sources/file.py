"""``file``: a video file read with ``cv2.VideoCapture``, optionally looped and paced.

With ``realtime`` the frames come out at the file's own frame rate (or ``fps``), so a
recording exercises the pipeline as a live camera would, dropped frames included; without it
they come as fast as they decode. At the end of the file the source rewinds when ``loop`` is
set and otherwise returns ``None``, which ends the capture.

Decoder threads (``threads``, OpenCV's ``CAP_PROP_N_THREADS``): FFmpeg's frame threading gives
each thread its own frames in flight, so OpenCV's default (a thread per core) costs about 8 MB
more than one thread on a 1080p clip (``bench/memory.py``). One thread is the default: a board
small enough to care decodes faster than it detects, and a recording stands in for a camera
that needs no decoder at all; ``0`` restores OpenCV's choice where decoding is the bottleneck.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import cv2
from pydantic import Field

from firmware_py.sources import (
    Pacer,
    SourceConfig,
    SourceError,
    SourceUnavailable,
    Streams,
    register_source,
)
from firmware_py.sources.videocapture import CaptureArgs, VideoCaptureSource, to_rgb

log = logging.getLogger(__name__)

FALLBACK_FPS = 30.0


class FileConfig(SourceConfig):
    type: Literal["file"] = "file"
    path: str = Field("video.mp4", min_length=1, max_length=4096,
                      description="video file any OpenCV backend can decode")
    loop: bool = Field(False, description="rewind at the end instead of ending the capture")
    realtime: bool = Field(True, description="pace frames at the file's frame rate")
    fps: float = Field(0.0, ge=0.0, le=1000.0, description="pacing rate; 0 = the file's own "
                       f"(or {FALLBACK_FPS:g} if the file does not say)")
    threads: int = Field(1, ge=0, le=64, description="decoder threads; 0 = OpenCV's choice "
                         "(one per core, about 8 MB more at 1080p)")


@register_source
class FileSource(VideoCaptureSource):
    key = "file"
    config_cls = FileConfig
    config: FileConfig

    def __init__(self, config: FileConfig) -> None:
        super().__init__(config)
        self._index = 0
        self.fps = 0.0
        self._pacer = Pacer(0.0)

    def capture_args(self) -> CaptureArgs:
        threads = self.config.threads
        return self.config.path, cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, threads] if threads else []

    def open(self) -> None:
        if not Path(self.config.path).is_file():
            raise SourceUnavailable(f"{self.name}: no such video file {self.config.path}")
        try:
            super().open()
        except SourceError as error:  # a file that does not open now never will
            raise SourceUnavailable(f"{self.name}: cannot decode {self.config.path} (corrupt, "
                                    "truncated or an unsupported format)") from error
        self._index = 0
        self.fps = self._frame_rate()
        self._pacer = Pacer(self.fps if self.config.realtime else 0.0)

    def _frame_rate(self) -> float:
        if self.config.fps:
            return self.config.fps
        fps = self._cap.get(cv2.CAP_PROP_FPS) if self._cap is not None else 0.0
        if not fps > 0:  # also catches NaN
            log.warning("%s: %s has no frame rate; pacing at %g fps", self.name,
                        self.config.path, FALLBACK_FPS)
            return FALLBACK_FPS
        return fps

    def read(self) -> Streams | None:
        bgr = self.grab_bgr()
        if bgr is None:
            if not self.config.loop:
                return None
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._index = 0
            bgr = self.grab_bgr()
            if bgr is None:
                raise SourceError(f"{self.name}: cannot rewind {self.config.path}")
        self._pacer.wait()
        self._index += 1
        return Streams(to_rgb(bgr), index=self._index - 1)
