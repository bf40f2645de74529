"""``folder``: the images in a folder, in natural order (``2.png`` before ``10.png``).

Images are decoded with ``cv2.imread`` one at a time as they are read, so a long sequence
costs no memory up front. An image that fails to decode is skipped with a warning rather than
raised: reopening the folder would only meet it again. The listing is taken at ``open``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import cv2
from pydantic import Field

from firmware_py.sources import (
    FrameSource,
    Pacer,
    SourceConfig,
    SourceUnavailable,
    Streams,
    natural_key,
    register_source,
)
from firmware_py.sources.videocapture import to_rgb

log = logging.getLogger(__name__)


class FolderConfig(SourceConfig):
    type: Literal["folder"] = "folder"
    path: str = Field("frames", min_length=1, max_length=4096, description="image folder")
    extensions: tuple[str, ...] = Field((".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"),
                                        min_length=1, max_length=16,
                                        description="file suffixes to read (case-insensitive)")
    loop: bool = Field(False, description="start again after the last image")
    fps: float = Field(0.0, ge=0.0, le=1000.0,
                       description="pace images at this rate; 0 = as fast as they decode")


@register_source
class FolderSource(FrameSource):
    key = "folder"
    config_cls = FolderConfig
    config: FolderConfig

    def __init__(self, config: FolderConfig) -> None:
        super().__init__(config)
        self.paths: list[Path] = []
        self._index = 0
        self._pacer = Pacer(config.fps)

    def open(self) -> None:
        folder = Path(self.config.path)
        if not folder.is_dir():
            raise SourceUnavailable(f"{self.name}: no such folder {folder}")
        suffixes = {ext.lower() for ext in self.config.extensions}
        self.paths = sorted((p for p in folder.iterdir()
                             if p.is_file() and p.suffix.lower() in suffixes),
                            key=lambda p: natural_key(p.name))
        if not self.paths:
            raise SourceUnavailable(f"{self.name}: no {sorted(suffixes)} images in {folder}")
        self._index = 0
        self._pacer = Pacer(self.config.fps)

    def read(self) -> Streams | None:
        for _ in range(len(self.paths)):
            if self._index == len(self.paths):
                if not self.config.loop:
                    return None
                self._index = 0
            index, path = self._index, self.paths[self._index]
            self._index += 1
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                log.warning("%s: skipping unreadable image %s", self.name, path)
                continue
            self._pacer.wait()
            return Streams(to_rgb(bgr), index=index)
        raise SourceUnavailable(f"{self.name}: none of the images in {self.config.path} "
                                "decode")

    def close(self) -> None:
        self.paths = []
