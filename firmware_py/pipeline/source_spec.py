"""``specks run --source S``: one string to a source config, as users type it.

- ``/dev/video2`` or ``2``: a V4L2 camera (width/height/fps from the board's camera when it
  is a V4L2 camera too);
- ``rtsp://...``, ``http(s)://...``: a network stream;
- a string holding `` ! ``: a GStreamer pipeline (it must end in ``appsink``);
- ``picamera2`` or ``picamera2:N``: a Pi camera (the board's picamera2 settings, camera N);
- a folder with ``meta.json`` and ``gt.jsonl``: a synthetic clip; any other folder: images;
- any other path: a video or image file.

Without ``--source`` the board's ``camera`` is used. The board's ``lores_size`` carries over.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from firmware_py.sources import SourceConfig, source_config_union


def _like_board(board_camera: SourceConfig, kind: str) -> dict[str, Any]:
    common = {"name": board_camera.name, "lores_size": board_camera.lores_size}
    if board_camera.type == kind:  # type: ignore[attr-defined]
        return board_camera.model_dump()
    return common


def source_config(spec: str | None, board_camera: SourceConfig, loop: bool = False
                  ) -> SourceConfig:
    """The source config for ``spec`` (see the module docstring); ``loop`` replays files.
    A spec the source's config refuses is a ``ValueError`` of one line naming the field."""
    from pydantic import TypeAdapter, ValidationError

    if not spec:
        return board_camera
    data = _parse(spec, board_camera, loop)
    try:
        return TypeAdapter(source_config_union()).validate_python(data)
    except ValidationError as error:
        item = error.errors()[0]
        field = ".".join(str(p) for p in item["loc"][1:]) or data["type"]
        message = item["msg"].removeprefix("Value error, ")
        raise ValueError(f"--source {spec!r}: {data['type']} field '{field}': {message}") \
            from None


def _parse(spec: str, camera: SourceConfig, loop: bool) -> dict[str, Any]:
    if re.fullmatch(r"/dev/\S+|\d+", spec):
        return {**_like_board(camera, "v4l2"), "type": "v4l2", "device": spec}
    if re.match(r"^(rtsp|rtsps|http|https)://", spec):
        return {**_like_board(camera, "url"), "type": "url", "url": spec}
    if " ! " in spec:
        return {**_like_board(camera, "gstreamer"), "type": "gstreamer", "pipeline": spec}
    match = re.fullmatch(r"picamera2(?::(\d))?", spec)
    if match:
        data = {**_like_board(camera, "picamera2"), "type": "picamera2"}
        return {**data, "camera_num": int(match.group(1))} if match.group(1) else data
    path = Path(spec)
    common = {"name": camera.name, "lores_size": camera.lores_size, "loop": loop}
    if path.is_dir() and (path / "meta.json").is_file() and (path / "gt.jsonl").is_file():
        return {**common, "type": "synth", "path": spec}
    if path.is_dir():
        return {**common, "type": "folder", "path": spec}
    if path.is_file():
        return {**common, "type": "file", "path": spec}
    raise ValueError(f"--source {spec!r}: no such file or folder, and not a camera "
                     "(/dev/videoN), URL, GStreamer pipeline or picamera2")


def describe(config: BaseModel) -> str:
    """A short human name of a source config, for the status line and logs."""
    data = config.model_dump()
    detail = next((data[k] for k in ("path", "device", "url", "camera_num") if k in data), "")
    return f"{data.get('type')}:{detail}"
