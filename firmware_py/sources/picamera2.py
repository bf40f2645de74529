"""``picamera2``: a Raspberry Pi camera through the picamera2 library (libcamera).

The ISP makes both streams from one sensor frame: ``main`` at full resolution for the tiles
and ``lores`` for the prior, so the Pi needs no resize on the CPU. Both are taken from the
same completed request (``capture_request`` -> ``make_array("main")``,
``make_array("lores")`` -> ``release``): two ``capture_array`` calls could return two
different frames. ``make_array`` copies out of the camera's buffer, so the request goes back
to libcamera at once.

Formats, as picamera2 names them (its names follow DRM fourccs, i.e. little-endian words):

- ``RGB888`` is stored ``[B, G, R]`` per pixel (its own PIL helper opens it as ``"BGR"``), so
  it is swapped to RGB here; ``BGR888`` is stored ``[R, G, B]`` and passes through as is.
- ``lores`` is ``YUV420`` (planar I420; the only lores format before the Pi 5), returned as a
  ``(h * 3 / 2, stride)`` array with the row padding left in. It is unpadded and converted
  with ``cv2.COLOR_YUV2RGB_I420``, or cut down to its Y plane when ``lores_mode="gray"``.
  NOTE: not ``cv2.COLOR_YUV420p2RGB``, which OpenCV defines as ``COLOR_YUV2RGB_YV12`` (V plane
  first) and would swap the chroma planes of picamera2's U-first YUV420.

picamera2 is imported only when the source opens (it is not installable off a Pi), and the
camera is made by ``camera_factory`` (default ``picamera2.Picamera2``), which the tests set to
a stand-in with the same methods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import Field, model_validator

from firmware_py.sources import (
    FrameSource,
    Side,
    SourceConfig,
    SourceError,
    SourceUnavailable,
    Streams,
    register_source,
)

log = logging.getLogger(__name__)


class Picamera2Config(SourceConfig):
    type: Literal["picamera2"] = "picamera2"
    camera_num: int = Field(0, ge=0, le=7, description="which camera, as Picamera2(n) counts")
    main_size: tuple[Side, Side] = Field((1920, 1080), description="(width, height) of main")
    main_format: Literal["RGB888", "BGR888"] = Field(
        "RGB888", description="main stream format; RGB888 is BGR in memory and is swapped, "
        "BGR888 is RGB in memory and saves the swap")
    lores_mode: Literal["rgb", "gray"] = Field("rgb", description="convert the YUV420 lores "
                                               "to RGB, or keep only its Y plane")
    fps: float = Field(30.0, gt=0.0, le=240.0, description="FrameRate control")
    buffer_count: int = Field(4, ge=2, le=16, description="libcamera buffers per stream")

    @model_validator(mode="after")
    def _lores_fits(self) -> Picamera2Config:
        (mw, mh), (lw, lh) = self.main_size, self.lores_size
        if lw > mw or lh > mh:
            raise ValueError("lores_size must not exceed main_size")
        if lw % 2 or lh % 2:
            raise ValueError("a YUV420 lores_size needs even width and height")
        return self


def _import_picamera2() -> Callable[[int], Any]:
    try:
        from picamera2 import Picamera2
    except ImportError as e:
        raise SourceUnavailable("the picamera2 source needs the picamera2 package (Raspberry "
                                "Pi OS: apt install python3-picamera2, and a venv made with "
                                "--system-site-packages)") from e
    return Picamera2


@register_source
class Picamera2Source(FrameSource):
    key = "picamera2"
    config_cls = Picamera2Config
    config: Picamera2Config

    def __init__(self, config: Picamera2Config,
                 camera_factory: Callable[[int], Any] | None = None) -> None:
        super().__init__(config)
        self._factory = camera_factory
        self._camera: Any = None
        self._lores_width = config.lores_size[0]

    def open(self) -> None:
        self.close()
        factory = self._factory or _import_picamera2()
        cfg = self.config
        try:
            camera = factory(cfg.camera_num)
        except Exception as e:  # libcamera raises plain RuntimeError/IndexError
            raise SourceError(f"{self.name}: no Pi camera {cfg.camera_num}: {e}") from e
        self._camera = camera
        try:
            video = camera.create_video_configuration(
                main={"size": cfg.main_size, "format": cfg.main_format},
                lores={"size": cfg.lores_size, "format": "YUV420"},
                controls={"FrameRate": cfg.fps}, buffer_count=cfg.buffer_count)
            camera.configure(video)
            # libcamera may adjust sizes while configuring; read back what it chose
            self._lores_width = camera.camera_configuration()["lores"]["size"][0]
            camera.start()
        except Exception as e:
            self.close()
            raise SourceError(f"{self.name}: cannot start Pi camera {cfg.camera_num}: {e}") from e

    def read(self) -> Streams:
        if self._camera is None:
            raise SourceError(f"{self.name}: read before open")
        try:
            request = self._camera.capture_request()
        except Exception as e:
            raise SourceError(f"{self.name}: Pi camera stopped delivering: {e}") from e
        try:
            main = request.make_array("main")
            lores = request.make_array("lores")
        finally:
            request.release()
        if self.config.main_format == "RGB888":
            main = cv2.cvtColor(main, cv2.COLOR_BGR2RGB)
        if self.config.lores_mode == "gray":
            return Streams(main, y_plane(lores, self._lores_width))
        return Streams(main, yuv420_to_rgb(lores, self._lores_width))

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        for step in (camera.stop, camera.close):
            try:
                step()
            except Exception:  # closing a half-open camera must not mask the real error
                log.warning("%s: %s failed", self.name, step.__name__, exc_info=True)


def y_plane(yuv: np.ndarray, width: int) -> np.ndarray:
    """Luma of a picamera2 YUV420 array ``(h * 3 / 2, stride)`` -> ``(h, width)``."""
    height = yuv.shape[0] * 2 // 3
    return np.ascontiguousarray(yuv[:height, :width])


def yuv420_to_rgb(yuv: np.ndarray, width: int) -> np.ndarray:
    """A picamera2 YUV420 array ``(h * 3 / 2, stride)``, rows padded to ``stride`` -> RGB
    ``(h, width, 3)``. Planar I420: Y is ``h`` rows of ``stride`` bytes, then U and V are
    ``h / 2`` rows of ``stride / 2`` bytes each."""
    rows, stride = yuv.shape
    height = rows * 2 // 3
    if stride != width:
        flat = yuv.reshape(-1)
        y = flat[: height * stride].reshape(height, stride)[:, :width]  # (h, w)
        uv = flat[height * stride:].reshape(2, height // 2, stride // 2)  # (2, h/2, stride/2)
        packed = np.concatenate([y.reshape(-1), uv[:, :, : width // 2].reshape(-1)])
        yuv = packed.reshape(rows, width)  # (h*3/2, w)
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
