"""numpy CenterNet decode (firmware_py/decode.py): peaks, box geometry, spec fields, layouts.

NOTE: named test_centernet_decode.py, not test_decode.py, because tests/models/test_decode.py
exists and pytest's default (prepend) import mode cannot hold two rootless ``test_decode``
modules in one session.
"""

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

import firmware_py.decode
from firmware_py.decode import decode_centernet
from firmware_py.manifest import CenterNetDecode

SPEC = CenterNetDecode(num_classes=3, stride=4, score_threshold=0.3, nms_iou=0.5)


def _maps(n: int = 1, c: int = 3, h: int = 8, w: int = 10) -> list[np.ndarray]:
    return [np.zeros((n, c, h, w), np.float32), np.zeros((n, 2, h, w), np.float32),
            np.zeros((n, 2, h, w), np.float32)]


def _put(maps: list[np.ndarray], cls: int, y: int, x: int, score: float,
         wh: tuple[float, float], off: tuple[float, float], n: int = 0) -> None:
    maps[0][n, cls, y, x] = score
    maps[1][n, :, y, x] = wh
    maps[2][n, :, y, x] = off


@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_peaks_match_brute_force(kernel: int) -> None:
    """Every cell that equals its window maximum (frame edges padded) and passes the threshold
    is decoded, in descending score order, and nothing else."""
    maps = _maps(h=6, w=7)
    maps[0][:] = np.random.default_rng(kernel).random((1, 3, 6, 7)).astype(np.float32)
    spec = SPEC.model_copy(update={"peak_kernel": kernel, "nms_iou": 1.0})
    r = kernel // 2
    expected = []
    for c, i, j in np.ndindex(3, 6, 7):
        v = maps[0][0, c, i, j]
        if v >= spec.score_threshold and v == maps[0][0, c, max(0, i - r):i + r + 1,
                                                      max(0, j - r):j + r + 1].max():
            expected.append((-v, c, i, j))
    (det,) = decode_centernet(maps, spec)
    cells = [(int(c), int(y0) // 4, int(x0) // 4) for (x0, y0, _, _), c in
             zip(det.boxes, det.labels, strict=True)]
    assert cells == [(c, i, j) for _, c, i, j in sorted(expected)]
    with pytest.raises(ValueError, match="odd"):
        decode_centernet(maps, SPEC.model_copy(update={"peak_kernel": 2}))


def test_one_peak_gives_its_box() -> None:
    maps = _maps()
    _put(maps, cls=1, y=3, x=5, score=0.9, wh=(10, 6), off=(0.25, 0.5))
    (det,) = decode_centernet(maps, SPEC)
    # centre ((5 + 0.25) * 4, (3 + 0.5) * 4) = (21, 14)
    np.testing.assert_allclose(det.boxes, [[16, 11, 26, 17]])
    assert det.scores.tolist() == pytest.approx([0.9]) and det.labels.tolist() == [1]
    assert det.boxes.dtype == np.float32 and det.labels.dtype == np.int64


def test_only_local_maxima_at_or_above_threshold_are_kept() -> None:
    maps = _maps()
    maps[0][0, 0, 2:5, 2:5] = 0.5
    maps[0][0, 0, 3, 3] = 0.8  # peak; its 0.5 ring is not
    maps[0][0, 2, 0, 9] = 0.6  # corner peak (border padding is -inf)
    maps[0][0, 1, 7, 0] = 0.29  # below threshold
    det = decode_centernet(maps, SPEC)[0]
    assert det.labels.tolist() == [0, 2] and det.scores.tolist() == pytest.approx([0.8, 0.6])


def test_max_detections_keeps_the_best() -> None:
    maps = _maps()
    for i, s in enumerate([0.4, 0.9, 0.6, 0.7]):
        _put(maps, cls=0, y=2 * i, x=0, score=s, wh=(1, 1), off=(0, 0))
    spec = SPEC.model_copy(update={"max_detections": 2})
    assert decode_centernet(maps, spec)[0].scores.tolist() == pytest.approx([0.9, 0.7])


def test_class_wise_nms() -> None:
    maps = _maps()
    _put(maps, cls=0, y=4, x=4, score=0.9, wh=(20, 20), off=(0, 0))
    _put(maps, cls=0, y=4, x=6, score=0.8, wh=(20, 20), off=(0, 0))  # IoU 0.43 with first
    _put(maps, cls=1, y=4, x=4, score=0.7, wh=(20, 20), off=(0, 0))
    _put(maps, cls=0, y=4, x=8, score=0.6, wh=(20, 20), off=(-4, 0))  # same box as first
    assert decode_centernet(maps, SPEC)[0].scores.tolist() == pytest.approx([0.9, 0.8, 0.7])
    strict = SPEC.model_copy(update={"nms_iou": 0.4})
    assert decode_centernet(maps, strict)[0].labels.tolist() == [0, 1]
    off = SPEC.model_copy(update={"nms_iou": 1.0})
    assert len(decode_centernet(maps, off)[0]) == 4


def test_spec_fields_logits_and_stride_units() -> None:
    maps = _maps()
    maps[0][:] = -20.0
    _put(maps, cls=2, y=1, x=1, score=0.0, wh=(2, 3), off=(0.5, 0.5))
    spec = SPEC.model_copy(update={"heatmap_is_logits": True, "size_unit": "stride"})
    (det,) = decode_centernet(maps, spec)
    assert det.scores.tolist() == pytest.approx([0.5])  # sigmoid(0)
    np.testing.assert_allclose(det.boxes, [[2, 0, 10, 12]])  # centre (6, 6), 8 x 12 px


def test_negative_size_clamps_to_a_point() -> None:
    maps = _maps()
    _put(maps, cls=0, y=1, x=1, score=0.9, wh=(-3, 4), off=(0, 0))
    np.testing.assert_allclose(decode_centernet(maps, SPEC)[0].boxes, [[4, 2, 4, 6]])


def test_nhwc_equals_nchw_per_image() -> None:
    rng = np.random.default_rng(1)
    maps = [rng.random((2, 3, 8, 10), dtype=np.float32),
            rng.random((2, 2, 8, 10), dtype=np.float32) * 30,
            rng.random((2, 2, 8, 10), dtype=np.float32)]
    nchw = decode_centernet(maps, SPEC)
    nhwc = decode_centernet([m.transpose(0, 2, 3, 1) for m in maps], SPEC, layout="NHWC")
    single = decode_centernet([m[1:] for m in maps], SPEC)[0]
    for a, b in zip(nchw, nhwc, strict=True):
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.labels, b.labels)
    assert len(nchw[1]) > 5
    np.testing.assert_array_equal(nchw[1].boxes, single.boxes)


def test_rejects_mismatched_outputs() -> None:
    maps = _maps(c=2)
    with pytest.raises(ValueError, match="3-class"):
        decode_centernet(maps, SPEC)
    with pytest.raises(ValueError, match="4-d"):
        decode_centernet([m[0] for m in _maps()], SPEC)


def test_imports_only_numpy_stdlib_and_the_manifest() -> None:
    tree = ast.parse(Path(firmware_py.decode.__file__).read_text())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    relative = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level == 1}
    assert roots <= {"numpy"} | set(sys.stdlib_module_names)
    assert relative <= {"manifest", "nms"}
