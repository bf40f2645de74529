"""Image folder source: natural order, suffix filter, unreadable files skipped, loop."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from firmware_py.sources import SourceError, natural_key
from firmware_py.sources.folder import FolderConfig, FolderSource


def write(path: Path, value: int) -> None:
    assert cv2.imwrite(str(path), np.full((8, 10, 3), (value, 0, 255 - value), np.uint8))


def read_values(source: FolderSource, limit: int = 100) -> list[tuple[int | None, int]]:
    out = []
    with source:
        while len(out) < limit and (streams := source.read()) is not None:
            out.append((streams.index, int(streams.main[0, 0, 2])))  # R of RGB = B written
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, value in (("f10.png", 10), ("f2.png", 2), ("f1.png", 1), ("f100.bmp", 100)):
        write(tmp_path / name, value)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_images_come_in_natural_order_as_rgb(folder: Path) -> None:
    values = [v for _, v in read_values(FolderSource(FolderConfig(path=str(folder))))]
    assert values == [1, 2, 10, 100]


def test_natural_key_orders_digit_runs_as_numbers() -> None:
    names = ["img10.png", "img2.png", "img1.png", "a.png"]
    assert sorted(names, key=natural_key) == ["a.png", "img1.png", "img2.png", "img10.png"]


def test_suffix_filter_and_unreadable_images_are_skipped(folder: Path) -> None:
    (folder / "f3.png").write_bytes(b"broken")
    source = FolderSource(FolderConfig(path=str(folder), extensions=(".PNG",)))
    assert [v for _, v in read_values(source)] == [1, 2, 10]


def test_loop_starts_again(folder: Path) -> None:
    source = FolderSource(FolderConfig(path=str(folder), loop=True))
    assert [i for i, _ in read_values(source, limit=6)] == [0, 1, 2, 3, 0, 1]


def test_missing_or_empty_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such folder"):
        FolderSource(FolderConfig(path=str(tmp_path / "nope"))).open()
    with pytest.raises(SourceError, match="images"):
        FolderSource(FolderConfig(path=str(tmp_path))).open()
