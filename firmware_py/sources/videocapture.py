"""What the OpenCV-backed sources share: one ``cv2.VideoCapture`` opened from
``(filename_or_index, api_preference, params)``, read as BGR and handed on as RGB.

The ``file``, ``v4l2``, ``gstreamer`` and ``url`` plugins differ only in those three
arguments, so each one only builds them (:meth:`VideoCaptureSource.capture_args`, which the
tests check without hardware). Properties go in the constructor's ``params`` rather than
through ``set()`` afterwards, so the backend applies them while it opens the device (V4L2
needs the FOURCC before the size).

A BGR frame is turned into RGB in place, a band of rows at a time (:func:`to_rgb`): OpenCV's
``cvtColor`` copies its whole input when asked to work in place, and a second 1080p frame
(6 MB) alive at every read is a tenth of a Pi Zero 2 W's budget for the whole process.
"""

from __future__ import annotations

import logging
from abc import abstractmethod

import cv2
import numpy as np

from firmware_py.sources import FrameSource, SourceError, Streams

log = logging.getLogger(__name__)

CaptureArgs = tuple[str | int, int, list[int]]


class VideoCaptureSource(FrameSource):
    """Base for sources read through ``cv2.VideoCapture``."""

    _cap: cv2.VideoCapture | None = None

    @abstractmethod
    def capture_args(self) -> CaptureArgs:
        """``(filename_or_index, api_preference, [prop, value, ...])`` for VideoCapture."""

    def describe(self) -> str:
        return str(self.capture_args()[0])

    def open(self) -> None:
        self.close()
        target, api, params = self.capture_args()
        try:
            cap = cv2.VideoCapture(target, api, params)
        except cv2.error as e:
            raise SourceError(f"{self.name}: OpenCV failed on {self.describe()}: {e}") from e
        if not cap.isOpened():
            cap.release()
            backend = cv2.videoio_registry.getBackendName(api)
            raise SourceError(f"{self.name}: cannot open {self.describe()} with OpenCV's "
                              f"{backend} backend (missing, busy or unsupported)")
        self._cap = cap
        log.info("%s: opened %s (%dx%d @ %.1f fps)", self.name, self.describe(),
                 cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT),
                 cap.get(cv2.CAP_PROP_FPS))

    def grab_bgr(self) -> np.ndarray | None:
        """The next BGR frame, or ``None`` if the capture returned nothing."""
        if self._cap is None:
            raise SourceError(f"{self.name}: read before open")
        try:
            ok, bgr = self._cap.read()
        except cv2.error as e:
            raise SourceError(f"{self.name}: read failed on {self.describe()}: {e}") from e
        return bgr if ok and bgr is not None else None

    def read(self) -> Streams | None:
        """A live device that returns nothing has failed: raise so the capture reopens it."""
        bgr = self.grab_bgr()
        if bgr is None:
            raise SourceError(f"{self.name}: no frame from {self.describe()} (disconnected?)")
        return Streams(to_rgb(bgr))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


BAND_ROWS = 64  # rows converted per cvtColor call: OpenCV's copy of a band is 0.4 MB at 1080p


def to_rgb(image: np.ndarray) -> np.ndarray:
    """OpenCV's BGR (or grey) -> RGB ``uint8`` ``(H, W, 3)``. A BGR ``image`` is converted in
    place and returned (the caller hands it over); a grey one gets a new array."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if not image.flags.c_contiguous or not image.flags.writeable:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    for top in range(0, image.shape[0], BAND_ROWS):
        band = image[top:top + BAND_ROWS]  # (rows, W, 3), contiguous
        cv2.cvtColor(band, cv2.COLOR_BGR2RGB, dst=band)
    return image
