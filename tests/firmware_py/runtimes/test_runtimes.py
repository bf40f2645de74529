import numpy as np
import pytest

from firmware_py.manifest import TensorSpec
from firmware_py.runtimes import from_artifact, load_runner, to_artifact


def _spec(**kw) -> TensorSpec:
    return TensorSpec(name="t", shape=(1, 2, 3, 4), **kw)


def test_nhwc_round_trip() -> None:
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    spec = _spec(layout="NHWC", dtype="float32")
    native = to_artifact(x, spec)
    assert native.shape == (1, 3, 4, 2)
    assert native[0, 1, 2, 1] == x[0, 1, 1, 2]
    np.testing.assert_array_equal(from_artifact(native, spec), x)


def test_int8_quantize_rounds_and_clips() -> None:
    spec = _spec(layout="NCHW", dtype="int8", quant_scale=0.5, quant_zero_point=-3)
    x = np.array([0.0, 0.24, 0.26, 1000.0, -1000.0], np.float32).reshape(1, 1, 1, 5)
    q = to_artifact(x, spec)
    assert q.dtype == np.int8
    assert q.ravel().tolist() == [-3, -3, -2, 127, -128]
    assert from_artifact(q, spec).ravel().tolist() == [0.0, 0.0, 0.5, 65.0, -62.5]


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown artifact format"):
        load_runner(b"", "onnx")
