"""Fuzzing the COCO reader (Hypothesis), which ``specks data check x.json`` and training on a
COCO set feed: a JSON file with fields changed, added or of the wrong type, or any bytes, is
read or refused with one :class:`DatasetError` line naming the file and the JSON location;
never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from models.data.boxes import DatasetError
from models.data.coco import read_coco
from tests.firmware_py.fuzz import FUZZ, edited, one_line

COCO = {"images": [{"id": 1, "file_name": "x.png", "width": 16, "height": 16}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [2, 2, 4, 4],
                         "iscrowd": 0}],
        "categories": [{"id": 3, "name": "drone"}]}


def _read_every_way(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cv2.imwrite(str(Path(folder) / "x.png"), np.zeros((16, 16, 3), np.uint8))
        path = Path(folder) / "set.json"
        path.write_bytes(data)
        for strict in (True, False):
            one_line(lambda s=strict: read_coco(path, strict=s), DatasetError)


@FUZZ
@given(edited(COCO, ("id", "bbox", "width", "name", 1)))
def test_an_edited_coco_file_is_read_or_refused_in_one_line(tree: object) -> None:
    _read_every_way(json.dumps(tree).encode())


@FUZZ
@given(st.binary(max_size=100))
def test_any_coco_bytes_are_refused_in_one_line(data: bytes) -> None:
    _read_every_way(data)


def test_what_the_fuzzer_found_is_one_line_naming_the_location(tmp_path: Path) -> None:
    """A file holding ``null``, an image id of 1e400 and a ``file_name`` that is an object
    raised AttributeError, OverflowError and OSError (file name too long)."""
    image = COCO["images"][0]
    for tree, words in ((None, "expected a JSON object"),
                        ({**COCO, "annotations": {"a": 1}}, "set.json:annotations: 'annotations'"
                         " must be a list"),
                        ({**COCO, "images": [{**image, "id": 1e400}]},
                         "set.json:images[0]: needs id, file_name, width, height"),
                        ({**COCO, "images": [{**image, "file_name": {"a": "b" * 300}}]},
                         "file_name is dict, not a string")):
        (tmp_path / "set.json").write_text(json.dumps(tree))
        try:
            read_coco(tmp_path / "set.json")
        except DatasetError as error:
            assert words in str(error), error
        else:
            raise AssertionError(f"{tree!r} was accepted")
