"""``synth``: a clip from the synthetic scene generator, replayed as a camera with its truth.

A clip folder (written on the host by ``models/data/synth.py`` ``write_clip``) holds
``meta.json`` (``names``, ``width``, ``height``, ``fps``, ``frames``, ``source``),
``gt.jsonl`` (one line per frame: ``frame``, ``boxes`` xyxy pixels, ``labels``,
``track_ids``) and either ``clip.mp4`` or ``frames/NNNNNN.png``. The format is read here with
json and OpenCV only: the device never imports ``models``. Frames come out at the clip's fps
(``realtime``), each with ``source_index`` = its clip frame, so :meth:`SynthSource.truth`
gives the boxes to score it against.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from firmware_py.sources import (
    FrameSource,
    SourceConfig,
    SourceError,
    SourceUnavailable,
    Streams,
    register_source,
)
from firmware_py.sources.file import FileConfig, FileSource
from firmware_py.sources.folder import FolderConfig, FolderSource


class SynthConfig(SourceConfig):
    type: Literal["synth"] = "synth"
    path: str = Field("clip", min_length=1, max_length=4096,
                      description="clip folder holding meta.json, gt.jsonl and the frames")
    loop: bool = Field(True, description="replay the clip forever")
    realtime: bool = Field(True, description="pace frames at the clip's fps")


@register_source
class SynthSource(FrameSource):
    key = "synth"
    config_cls = SynthConfig
    config: SynthConfig

    def __init__(self, config: SynthConfig) -> None:
        super().__init__(config)
        self.meta: dict[str, Any] = {}
        self.ground_truth: list[dict[str, Any]] = []
        self._inner: FrameSource | None = None

    def open(self) -> None:
        self.close()
        folder = Path(self.config.path)
        try:
            self.meta = json.loads((folder / "meta.json").read_text())
            self.ground_truth = [json.loads(line) for line in
                                 (folder / "gt.jsonl").read_text().splitlines() if line]
            frames = folder / self.meta["source"]
        except (OSError, ValueError, KeyError) as e:
            raise SourceUnavailable(f"{self.name}: {folder} is not a synth clip: {e!r}") from e
        self._inner = self._frames_source(frames)
        self._inner.open()

    def _frames_source(self, frames: Path) -> FrameSource:
        cfg = self.config
        common = {"name": cfg.name, "lores_size": cfg.lores_size, "loop": cfg.loop}
        fps = float(self.meta.get("fps", 0.0))
        if frames.is_dir():
            return FolderSource(FolderConfig(path=str(frames), extensions=(".png",),
                                             fps=fps if cfg.realtime else 0.0, **common))
        return FileSource(FileConfig(path=str(frames), realtime=cfg.realtime, fps=fps, **common))

    def read(self) -> Streams | None:
        if self._inner is None:
            raise SourceError(f"{self.name}: read before open")
        return self._inner.read()

    def truth(self, index: int) -> dict[str, Any]:
        """The ``gt.jsonl`` row of clip frame ``index``: ``boxes``, ``labels``, ``track_ids``."""
        return self.ground_truth[index]

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
            self._inner = None
