import cv2
import numpy as np
import pytest

from models.data.boxes import (
    DatasetError,
    DetectionSet,
    DropReport,
    ImageRecord,
    Validator,
    read_image,
    write_image,
)


def test_read_image_converts_bgr_to_rgb(tmp_path):
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[..., 2] = 200  # red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    rgb = read_image(tmp_path / "red.png")
    assert rgb.shape == (4, 6, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == 200).all() and (rgb[..., 1:] == 0).all()


def test_write_read_round_trip_is_exact_for_png(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    write_image(tmp_path / "sub" / "x.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "sub" / "x.png"), image)


def test_grey_image_becomes_three_channels(tmp_path):
    cv2.imwrite(str(tmp_path / "g.png"), np.full((5, 5), 77, np.uint8))
    assert (read_image(tmp_path / "g.png") == 77).all()


@pytest.mark.parametrize("content, reason", [(None, "not found"), (b"", "corrupt"),
                                             (b"\x89PNG\r\n garbage", "corrupt")])
def test_bad_image_names_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match=reason) as info:
        read_image(path)
    assert str(path) in str(info.value)


def test_dataset_error_is_value_error_with_location():
    error = DatasetError("a/b.txt", 3, "bad")
    assert isinstance(error, ValueError)
    assert str(error) == "a/b.txt:3: bad" and error.line == 3
    assert str(DatasetError("a.txt", None, "bad")) == "a.txt: bad"


def test_validator_strict_raises_lenient_records():
    error = DatasetError("f", 1, "x")
    with pytest.raises(DatasetError):
        Validator(strict=True).fail(error)
    lenient = Validator(strict=False)
    lenient.fail(error)
    assert lenient.report.drops == [error] and "f:1: x" in lenient.report.summary()


def test_record_checks_lengths_and_shapes():
    rec = ImageRecord("x.png", 10, 10, [[0, 0, 1, 1]], [0])
    assert rec.boxes.dtype == np.float32 and rec.boxes.shape == (1, 4)
    assert rec.labels.dtype == np.int64
    with pytest.raises(ValueError, match="2 boxes but 1 labels"):
        ImageRecord("x.png", 10, 10, [[0, 0, 1, 1], [1, 1, 2, 2]], [0])


def test_counts():
    records = [ImageRecord("a", 8, 8, [[0, 0, 1, 1], [2, 2, 3, 3]], [1, 1]),
               ImageRecord("b", 8, 8)]
    counts = DetectionSet(records, ["cat", "dog"], DropReport()).counts()
    assert counts == {"images": 2, "background": 1, "cat": 0, "dog": 2}
