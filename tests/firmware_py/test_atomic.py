"""Atomic replacement: the new content or the old one, never a torn file or a leftover."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_py.atomic import atomic_path, write_atomic


def test_write_replaces_the_content(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "record.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
