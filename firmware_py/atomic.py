"""Atomic file replacement: the one way Specks writes a file that a reader, a crash or a power
cut may catch half-written (checkpoints, packed bundles, unit files, health and install
records). The content goes to a temp file in the same folder, is fsync'd, and is renamed over
the target (rename(2) is atomic within a filesystem); the folder is fsync'd too, so the rename
itself survives a power cut. A failure leaves the old file and no temp file behind.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path, owner: int | None = None) -> Iterator[Path]:
    """Yield a temp path to write ``path``'s new content to; on a clean exit it replaces
    ``path`` (fsync'd), on an error it is removed. ``owner`` (a pid) goes into the temp's name
    (``.<name>.<pid>.<random>.tmp``), so what a SIGKILLed writer left can be told apart."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = "" if owner is None else f"{owner}."
    tmp = path.with_name(f".{path.name}.{tag}{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
