"""Frame sources: one small interface, one plugin file per kind of camera or recording.

Capture is separate from processing (picamera2's design): a source only opens, reads and
closes; :mod:`firmware_py.sources.capture` runs it in a thread that stamps, counts and queues
frames and reopens it when it fails. Every frame carries two named streams, as picamera2's
camera object does:

- ``main``: full-resolution RGB ``uint8`` ``(H, W, 3)``, cut into detector tiles;
- ``lores``: a low-resolution image for the saliency prior. picamera2 makes it in the ISP;
  for every other source the capture thread makes it with ``cv2.INTER_AREA`` from ``main``.

Plugins (key -> module): ``file``, ``folder``, ``v4l2``, ``gstreamer``, ``url``,
``picamera2``, ``synth``. Each module registers one :class:`FrameSource` subclass whose pydantic
config has ``type: Literal[<key>]``. Plugins are imported only when asked for, and none touches
hardware at import time; picamera2 itself is imported only when its source is opened.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from firmware_py.plugins import PluginRegistry

SOURCE_TYPES = ("file", "folder", "v4l2", "gstreamer", "url", "picamera2", "synth")

Side = Annotated[int, Field(ge=8, le=8192)]


class SourceError(OSError):
    """A source could not be opened or stopped delivering frames; the capture thread reopens
    it with backoff."""


class SourceUnavailable(SourceError):
    """A source that retrying cannot bring back: a missing or undecodable file or folder, a
    package that is not installed. The capture gives up at once instead of retrying."""


class SourceConfig(BaseModel):
    """Fields every source shares; a plugin adds ``type: Literal[<key>]`` and its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("camera", min_length=1, max_length=64,
                      description="source name stamped on every frame and in logs")
    lores_size: tuple[Side, Side] = Field((320, 240), description="(width, height) of the "
                                          "lores stream fed to the prior")


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured frame. ``main`` and ``lores`` are read-only: the capture thread owns them
    and every attached consumer sees the same arrays."""

    frame_id: int  # monotonic per capture, never reset by a reconnect
    t_monotonic: float  # time.monotonic() when the source returned the frame
    t_wall: float  # time.time() at the same moment
    main: np.ndarray  # (H, W, 3) uint8 RGB, full resolution
    lores: np.ndarray  # (h, w, 3) uint8 RGB, or (h, w) uint8 luma for a Y-plane lores
    source: str
    source_index: int | None = None  # position in a file, folder or clip; None for cameras


class Streams(NamedTuple):
    """What :meth:`FrameSource.read` returns: ``main`` RGB, and ``lores`` when the hardware
    makes one (else the capture thread downscales ``main``)."""

    main: np.ndarray
    lores: np.ndarray | None = None
    index: int | None = None


class FrameSource(ABC):
    """Open, read, close. ``read`` returns ``None`` at the end of a finite stream and raises
    :class:`SourceError` when the device fails or disconnects."""

    key: ClassVar[str]
    config_cls: ClassVar[type[SourceConfig]]

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    @abstractmethod
    def open(self) -> None:
        """Acquire the device or file; raise :class:`SourceError` if it cannot be had."""

    @abstractmethod
    def read(self) -> Streams | None:
        """Block for the next frame."""

    @abstractmethod
    def close(self) -> None:
        """Release everything; safe to call twice and after a failed ``open``."""

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_PLUGINS: PluginRegistry[type[FrameSource]] = PluginRegistry(__name__, SOURCE_TYPES, "source")
register_source = _PLUGINS.register
source_class = _PLUGINS.get
source_config_union = _PLUGINS.config_union


def create_source(config: SourceConfig | dict[str, Any], **kwargs: Any) -> FrameSource:
    """Build a source from its config (a model, or a dict with ``type``). ``kwargs`` go to the
    plugin's constructor (e.g. ``camera_factory`` for picamera2)."""
    return _PLUGINS.create(config, **kwargs)


def natural_key(name: str) -> list[str | int]:
    """Sort key comparing digit runs as numbers: ``img2`` before ``img10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class Pacer:
    """Holds frames back to ``fps`` (a recording replayed as if live). A consumer that falls
    more than one period behind resynchronises instead of bursting to catch up."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps if fps > 0 else 0.0
        self._due: float | None = None

    def wait(self) -> None:
        if not self.period:
            return
        now = time.monotonic()
        if self._due is not None and self._due > now:
            time.sleep(self._due - now)
            now = self._due
        late = self._due is None or now - self._due > self.period
        self._due = (now if late else self._due) + self.period
