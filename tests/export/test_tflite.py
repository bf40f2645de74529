import numpy as np
import pytest

from export.parity import compare
from export.tflite import export_tflite
from firmware_py.runtimes.litert import LiteRTRunner

NAMES = ("heatmap", "size", "offset")


@pytest.mark.parametrize(("precision", "min_cosine"), [("fp32", 0.9999), ("int8", 0.98)])
def test_tflite_runs_in_litert(tiny_model, calibration, validation, precision,
                               min_cosine) -> None:
    tfl = export_tflite(tiny_model, (validation[0],), precision=precision,
                        calibration=calibration)
    assert tfl.buffer[4:8] == b"TFL3"  # TFLite flatbuffer identifier
    assert tfl.nhwc_outputs == [0, 1, 2]
    runner = LiteRTRunner(tfl.buffer)
    (inp,) = runner.inputs
    assert inp.layout == "NHWC" and inp.shape == (1, 32, 32, 3)
    assert [s.name for s in runner.outputs] == ["output_0", "output_1", "output_2"]
    assert [s.shape for s in runner.outputs] == [(1, 8, 8, 3), (1, 8, 8, 2), (1, 8, 8, 2)]
    dtype = "int8" if precision == "int8" else "float32"
    assert {s.dtype for s in [inp, *runner.outputs]} == {dtype}  # full-integer I/O for int8
    if precision == "int8":
        assert all(s.quant_scale and s.quant_zero_point is not None
                   for s in [inp, *runner.outputs])
        # sigmoid output: TFLite's fixed int8 range for LOGISTIC is [0, 1)
        assert runner.outputs[0].quant_scale == pytest.approx(1 / 256)
    parity = compare(tiny_model, runner, validation, NAMES, min_cosine)
    assert parity.passed, parity


def test_int8_needs_calibration(tiny_model, validation) -> None:
    from export import ExportError

    with pytest.raises(ExportError, match="calibration"):
        export_tflite(tiny_model, (validation[0],), precision="int8")


def test_runner_native_run_matches_call(tiny_model, validation) -> None:
    """``__call__`` is ``run`` plus the layout conversion, nothing else."""
    runner = LiteRTRunner(export_tflite(tiny_model, (validation[0],)).buffer)
    x = validation[0].numpy()
    native = runner.run([np.ascontiguousarray(x.transpose(0, 2, 3, 1))])
    for a, b in zip(runner(x), native, strict=True):
        np.testing.assert_array_equal(a, b.transpose(0, 3, 1, 2))


@pytest.mark.slow
def test_specknet_int8_is_float_only_in_its_float_islands() -> None:
    """SpeckNet's int8 .tflite runs every op in int8 except its ``int8_float_modules`` (the
    heatmap branch: one depthwise and two 1x1 convs, their activations and the sigmoid; the
    first block's expand 1x1 and depthwise conv, their ReLU6 fused)."""
    import collections

    import torch
    from ai_edge_litert.interpreter import Interpreter

    from models.registry import create_model

    torch.manual_seed(0)
    model = create_model("specknet-pico", num_classes=2).eval()
    assert model.int8_float_modules == ("head.heatmap", "blocks.0.expand", "blocks.0.dw")
    batches = [torch.rand(1, 3, 64, 64) for _ in range(3)]
    interpreter = Interpreter(model_content=export_tflite(
        model, (batches[0],), precision="int8", calibration=batches).buffer)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    floats = collections.Counter(
        op["op_name"] for op in interpreter._get_ops_details()
        if any(tensors[i]["dtype"] == np.float32 for i in op["outputs"] if i >= 0))
    assert floats["CONV_2D"] == 3 and floats["DEPTHWISE_CONV_2D"] == 2
    assert floats["LEAKY_RELU"] == 2 and floats["LOGISTIC"] == 1
    assert not floats.keys() & {"MUL", "SUB", "RELU", "PRELU", "FULLY_CONNECTED", "MEAN"}
