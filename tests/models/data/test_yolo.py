from pathlib import Path

import numpy as np
import pytest
import yaml

from models.data.boxes import DatasetError, write_image
from models.data.yolo import (
    label_path,
    read_data_yaml,
    read_yolo,
    write_data_yaml,
    write_labels,
)

W, H = 64, 48


def make_dataset(root: Path, lines: dict[str, str], names=("a", "b"), extra: dict | None = None):
    """One image per entry of ``lines`` under images/train, with that label text."""
    for stem, text in lines.items():
        write_image(root / "images" / "train" / f"{stem}.png", np.zeros((H, W, 3), np.uint8))
        if text is not None:
            file = root / "labels" / "train" / f"{stem}.txt"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text)
    cfg = {"path": ".", "train": "images/train", "names": list(names), **(extra or {})}
    (root / "data.yaml").write_text(yaml.safe_dump(cfg))
    return root / "data.yaml"


def test_reads_pixel_boxes(tmp_path):
    data = make_dataset(tmp_path, {"x": "1 0.5 0.5 0.25 0.5\n\n0 0.125 0.25 0.25 0.5\n",
                                   "bg": None})
    ds = read_yolo(data)
    assert ds.names == ["a", "b"] and len(ds) == 2 and not ds.report
    bg, x = ds.records  # sorted by file name
    assert (bg.width, bg.height) == (W, H) and len(bg.boxes) == 0
    np.testing.assert_allclose(x.boxes, [[24, 12, 40, 36], [0, 0, 16, 24]])
    np.testing.assert_array_equal(x.labels, [1, 0])


def test_names_dict_and_txt_split_and_absolute_path(tmp_path):
    make_dataset(tmp_path, {"x": "1 0.5 0.5 0.25 0.5\n"})
    (tmp_path / "train.txt").write_text("images/train/x.png\n")
    cfg = {"path": str(tmp_path), "train": "train.txt", "val": ["images/train"],
           "names": {0: "a", 1: "b"}}
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "d.yaml").write_text(yaml.safe_dump(cfg))
    for split in ("train", "val"):
        ds = read_yolo(tmp_path / "other" / "d.yaml", split)
        assert ds.names == ["a", "b"] and len(ds) == 1 and ds.records[0].labels.tolist() == [1]


def test_label_path_swaps_last_images_folder():
    assert label_path("/d/images/x/images/train/a.jpg") == Path("/d/images/x/labels/train/a.txt")
    with pytest.raises(ValueError, match="images"):
        label_path("/d/pics/a.jpg")


BAD_LINES = [
    ("0 0.5 0.5 0.1", "expected 5 fields"),
    ("0 0.5 0.5 0.1 0.1 0.3", "expected 5 fields"),
    ("0 0.5 abc 0.1 0.1", "non-numeric field 'abc'"),
    ("2 0.5 0.5 0.1 0.1", "unknown class id 2"),
    ("-1 0.5 0.5 0.1 0.1", "unknown class id -1"),
    ("0.5 0.5 0.5 0.1 0.1", "unknown class id 0.5"),
    ("0 1.2 0.5 0.1 0.1", "out of range"),
    ("0 0.5 0.5 nan 0.1", "out of range"),
    ("0 0.5 0.5 0 0.1", "zero-size"),
    ("0 0.98 0.5 0.1 0.1", "outside the image"),
]


@pytest.mark.parametrize("line, reason", BAD_LINES)
def test_bad_line_raises_with_file_and_line(tmp_path, line, reason):
    data = make_dataset(tmp_path, {"x": f"0 0.5 0.5 0.1 0.1\n{line}\n"})
    with pytest.raises(DatasetError, match=reason) as info:
        read_yolo(data)
    file = tmp_path / "labels" / "train" / "x.txt"
    assert f"{file}:2:" in str(info.value)


@pytest.mark.parametrize("line, reason", BAD_LINES)
def test_lenient_drops_only_the_bad_line(tmp_path, line, reason):
    data = make_dataset(tmp_path, {"x": f"0 0.5 0.5 0.1 0.1\n{line}\n"})
    ds = read_yolo(data, strict=False)
    assert len(ds.records[0].boxes) == 1
    assert len(ds.report) == 1 and reason in str(ds.report.drops[0])
    assert ds.report.drops[0].line == 2


def test_missing_listed_image_names_list_file_and_line(tmp_path):
    data = make_dataset(tmp_path, {"x": ""}, extra={"train": "train.txt"})
    (tmp_path / "train.txt").write_text("images/train/x.png\nimages/train/gone.png\n")
    with pytest.raises(DatasetError, match="image not found") as info:
        read_yolo(data)
    assert f"{tmp_path / 'train.txt'}:2:" in str(info.value)
    ds = read_yolo(data, strict=False)
    assert len(ds) == 1 and len(ds.report) == 1


def test_corrupt_image_is_an_error_and_dropped_when_lenient(tmp_path):
    data = make_dataset(tmp_path, {"x": "0 0.5 0.5 0.1 0.1\n", "y": ""})
    bad = tmp_path / "images" / "train" / "y.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="corrupt") as info:
        read_yolo(data)
    assert str(bad) in str(info.value)
    ds = read_yolo(data, strict=False)
    assert [r.path.stem for r in ds.records] == ["x"] and str(bad) in ds.report.summary()


def test_label_without_image_is_an_error(tmp_path):
    data = make_dataset(tmp_path, {"x": ""})
    (tmp_path / "labels" / "train" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DatasetError, match="no matching image") as info:
        read_yolo(data)
    assert "orphan.txt" in str(info.value)


@pytest.mark.parametrize("extra, reason", [
    ({"names": []}, "names"),
    ({"names": {0: "a", 2: "b"}}, "names keys"),
    ({"nc": 3}, "nc=3"),
    ({"path": "nowhere"}, "does not exist"),
    ({"train": "images/missing"}, "not found"),
])
def test_bad_data_yaml(tmp_path, extra, reason):
    data = make_dataset(tmp_path, {"x": ""}, extra=extra)
    with pytest.raises(DatasetError, match=reason) as info:
        read_yolo(data)
    assert "data.yaml" in str(info.value)


def test_missing_split_and_missing_yaml(tmp_path):
    data = make_dataset(tmp_path, {"x": ""})
    with pytest.raises(DatasetError, match="no 'val' split"):
        read_yolo(data, "val")
    with pytest.raises(DatasetError, match="not found"):
        read_data_yaml(tmp_path / "nope.yaml")


def test_writer_round_trip(tmp_path):
    image = tmp_path / "images" / "train" / "z.png"
    write_image(image, np.zeros((480, 640, 3), np.uint8))
    boxes = np.array([[3, 5, 7, 9], [600.5, 400.25, 640, 480], [0, 0, 1, 1]], np.float32)
    write_labels(image, boxes, np.array([2, 0, 1]), 640, 480)
    data = write_data_yaml(tmp_path, ["p", "q", "r"], {"train": "images/train"})
    root, splits, names = read_data_yaml(data)
    assert root == tmp_path.resolve() and names == ["p", "q", "r"]
    ds = read_yolo(data)
    np.testing.assert_allclose(ds.records[0].boxes, boxes, atol=1e-4)
    np.testing.assert_array_equal(ds.records[0].labels, [2, 0, 1])


def test_lenient_drops_are_logged(tmp_path, caplog):
    data = make_dataset(tmp_path, {"x": "0 0.5 0.5 0.1\n"})
    with caplog.at_level("WARNING", logger="models.data"):
        read_yolo(data, strict=False)
    assert "dropped 1 bad item" in caplog.text and "x.txt:1" in caplog.text
