"""Fuzzing the YOLO dataset parsers (Hypothesis): label lines, label files of any bytes and
``data.yaml`` files are read or refused with one :class:`DatasetError` line naming the file
(and line); never a traceback. ``specks data check`` and ``specks train`` print that line."""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from models.data.boxes import DatasetError
from models.data.yolo import parse_label_line, read_data_yaml, read_yolo
from tests.firmware_py.fuzz import FUZZ, edited, one_line, typed

DATA = {"path": ".", "train": "images", "val": ["images"], "names": {0: "a", 1: "b"}}
numbers = st.floats(allow_nan=True, allow_infinity=True).map(repr) | \
    st.integers(-3, 3).map(str) | st.sampled_from(["1e400", "0x1", "1_0", "", "nan", "-0"])
label_lines = st.lists(numbers, min_size=0, max_size=7).map(" ".join) | typed


@FUZZ
@given(label_lines, st.integers(1, 3))
def test_any_label_line_is_a_box_or_one_line_naming_file_and_line(text: str, nc: int) -> None:
    parsed = one_line(lambda: parse_label_line(text, Path("labels/x.txt"), 7, nc), DatasetError)
    if parsed is None:
        return
    cls, xyxy = parsed
    assert 0 <= cls < nc and all(math.isfinite(v) and 0 <= v <= 1 for v in xyxy)


def _dataset(root: Path, data_yaml: bytes, label: bytes) -> Path:
    (root / "images").mkdir()
    (root / "labels").mkdir()
    cv2.imwrite(str(root / "images" / "x.png"), np.zeros((16, 16, 3), np.uint8))
    (root / "labels" / "x.txt").write_bytes(label)
    (root / "data.yaml").write_bytes(data_yaml)
    return root / "data.yaml"


def _read_every_way(data_yaml: bytes, label: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _dataset(Path(folder), data_yaml, label)
        one_line(lambda: read_data_yaml(path), DatasetError)
        for strict in (True, False):
            one_line(lambda s=strict: read_yolo(path, "train", strict=s), DatasetError)


@FUZZ
@given(st.binary(max_size=120) | st.lists(label_lines, max_size=4).map("\n".join)
       .map(str.encode))
def test_any_label_file_is_read_or_refused_in_one_line(label: bytes) -> None:
    _read_every_way(yaml.safe_dump(DATA).encode(), label)


edited_data_yamls = edited(DATA, ("nc", "path", "train", "names", 2)).map(
    lambda tree: yaml.safe_dump(tree).encode())


@FUZZ
@given(edited_data_yamls | typed.map(str.encode) | st.binary(max_size=80))
def test_any_data_yaml_is_read_or_refused_in_one_line(data_yaml: bytes) -> None:
    _read_every_way(data_yaml, b"0 0.5 0.5 0.2 0.2\n")


def test_data_yaml_fields_of_the_wrong_type_are_named(tmp_path: Path) -> None:
    """Found by the fuzzer: ``path: 5``, ``train: 5``, ``names: {0: a, x: b}`` and bytes that
    are not UTF-8 raised TypeError or UnicodeDecodeError."""
    for text, words in ((b"path: 5\n", "'path' must be a folder, got 5"),
                        (b"train: 5\nnames: [a]\n", "'train' must be a folder or .txt list"),
                        (b"names: {0: a, x: b}\n", "names keys must be 0..1, got [0, 'x']"),
                        (b"names: [a]\xff\n", "data.yaml:1: not UTF-8 text")):
        (tmp_path / "data.yaml").write_bytes(text)
        try:
            read_data_yaml(tmp_path / "data.yaml")
        except DatasetError as error:
            assert words in str(error), error
        else:
            raise AssertionError(f"{text!r} was accepted")


@settings(FUZZ, max_examples=1)  # each example imports torch in a fresh interpreter
@given(edited_data_yamls)
def test_specks_train_on_a_refused_data_yaml_exits_2_in_one_line(data_yaml: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _dataset(Path(folder), data_yaml, b"0 0.5 0.5 0.2 0.2\n")
        try:
            read_yolo(path, "train")
            read_yolo(path, "val")
        except DatasetError:
            pass
        else:
            assume(False)
        done = subprocess.run([sys.executable, "-m", "firmware_py.cli", "train", "--data",
                               str(path), "--out", str(Path(folder) / "run")],
                              capture_output=True, text=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert folder in lines[0], done.stderr  # names the file at fault
