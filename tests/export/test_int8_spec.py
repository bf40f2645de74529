"""The int8 .tflite gate: TFLite's int8 spec, and a run with XNNPACK off (builtin kernels).

The spec-breaking graphs here are made honestly: by the stock litert-torch quantizer
(``tflite_spec=False``), or by editing one quantization field of a good flatbuffer."""

import logging
import re

import flatbuffers
import numpy as np
import pytest

from export.int8_spec import Int8SpecError, check_int8_tflite, spec_violations
from export.parity import compare
from export.tflite import convert_tflite, export_tflite
from firmware_py.runtimes.litert import LiteRTRunner

NAMES = ("heatmap", "classes", "offset")


@pytest.fixture(scope="module")
def fixed(gated_model, calibration) -> bytes:
    return convert_tflite(gated_model, (calibration[0],), precision="int8",
                          calibration=calibration)[0]


@pytest.fixture(scope="module")
def stock(gated_model, calibration) -> bytes:
    return convert_tflite(gated_model, (calibration[0],), precision="int8",
                          calibration=calibration, tflite_spec=False)[0]


def test_gated_net_runs_without_xnnpack(gated_model, calibration, validation, caplog) -> None:
    """SE / TiedSE / CBAM gates, a sigmoid heatmap, softmax and tanh heads: the int8 export
    passes the gate, runs in the builtin kernels close to eager and to XNNPACK, and litert-torch
    no longer warns that the model is converted in training mode."""
    with caplog.at_level(logging.WARNING):
        tfl = export_tflite(gated_model, (validation[0],), precision="int8",
                            calibration=calibration, gate_inputs=validation)
    assert "training mode" not in caplog.text
    assert len(tfl.builtin_cosines) == 3 and min(tfl.builtin_cosines) > 0.999
    assert spec_violations(tfl.buffer) == []
    builtin = LiteRTRunner(tfl.buffer, delegates=False)
    assert [(s.quant_scale, s.quant_zero_point) for s in builtin.outputs] == [
        (1 / 256, -128), (1 / 256, -128), (1 / 128, 0)]
    parity = compare(gated_model, builtin, validation, NAMES, 0.98)
    assert parity.passed, parity


def test_stock_quantizer_breaks_the_spec(stock, validation) -> None:
    """The stock quantizer's graph runs through XNNPACK but not in the builtin kernels; the
    static check and the runtime name the same LOGISTIC node."""
    violations = spec_violations(stock)
    assert violations and {v.op for v in violations} == {"LOGISTIC"}
    assert all("must be (0.00390625, -128)" in v.rule for v in violations)
    LiteRTRunner(stock)(validation[0].numpy())  # XNNPACK takes the node
    with pytest.raises(RuntimeError, match=r"Node number (\d+) \(LOGISTIC\)") as error:
        LiteRTRunner(stock, delegates=False)(validation[0].numpy())
    node = int(re.search(r"Node number (\d+)", str(error.value)).group(1))
    assert node == violations[0].node


def test_gate_refuses_the_stock_graph(stock, validation) -> None:
    with pytest.raises(Int8SpecError, match=r"node \d+ \(LOGISTIC\): output \(scale, zero"):
        check_int8_tflite(stock, [validation[0].numpy()])


def _int8_ops(buffer: bytes) -> set[str]:
    """Names of the ops whose first output is int8."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=buffer)
    dtypes = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    return {op["op_name"] for op in interpreter._get_ops_details()
            if dtypes[op["outputs"][0]] == np.int8}


def test_same_scale_ops_run_in_int8(pools_model, calibration, validation) -> None:
    """Pools and the bilinear upsample share their input's quantization, so they convert to
    int8 kernels (in the stock graph the upsample, and for some calibrations the average
    pool, run in float) and the graph passes the gate."""
    ops = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "RESIZE_BILINEAR"}
    tfl = export_tflite(pools_model, (validation[0],), precision="int8", calibration=calibration)
    assert ops <= _int8_ops(tfl.buffer)
    stock, _ = convert_tflite(pools_model, (validation[0],), precision="int8",
                              calibration=calibration, tflite_spec=False)
    assert "RESIZE_BILINEAR" not in _int8_ops(stock)


def _edit(buffer: bytes, op_name: str, edit) -> tuple[bytes, int]:
    """``buffer`` with ``edit(tensors, operator)`` applied to the first ``op_name`` node;
    returns the new flatbuffer and that node's index."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(buffer, 0)
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    wanted = getattr(schema.BuiltinOperator, op_name)
    node = next(i for i, op in enumerate(graph.operators) if codes[op.opcodeIndex] == wanted)
    edit(graph.tensors, graph.operators[node])
    builder = flatbuffers.Builder(len(buffer))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), node


def _rescale_output(tensors, op) -> None:
    tensors[op.outputs[0]].quantization.scale = [
        2 * s for s in tensors[op.outputs[0]].quantization.scale]


def _shift_weight_zero_point(tensors, op) -> None:
    quant = tensors[op.inputs[1]].quantization
    quant.zeroPoint = [1 for _ in quant.zeroPoint]


@pytest.mark.parametrize(("op_name", "edit", "rule"), [
    ("RESHAPE", _rescale_output, "must equal the output's"),
    ("MAX_POOL_2D", _rescale_output, "must equal the output's"),
    ("CONV_2D", _shift_weight_zero_point, "must have zero point 0"),
])
def test_static_rules(fixed, op_name, edit, rule) -> None:
    """A good graph with one field edited against the spec is refused, naming the node."""
    assert spec_violations(fixed) == []
    broken, node = _edit(fixed, op_name, edit)
    (violation,) = spec_violations(broken)
    assert (violation.node, violation.op) == (node, op_name) and rule in violation.rule


def test_static_check_catches_what_the_kernels_run_silently(fixed, validation) -> None:
    """A RESHAPE whose output scale differs from its input's runs in the builtin kernels
    (they copy the int8 codes) and gives wrong numbers; only the static check refuses it."""
    broken, node = _edit(fixed, "RESHAPE", _rescale_output)
    x = validation[0].numpy()
    good, bad = LiteRTRunner(fixed, delegates=False)(x), LiteRTRunner(broken, delegates=False)(x)
    assert not all(np.allclose(g, b) for g, b in zip(good, bad, strict=True))
    with pytest.raises(Int8SpecError, match=rf"node {node} \(RESHAPE\)"):
        check_int8_tflite(broken, [x])


def test_gate_needs_an_input(fixed) -> None:
    from export import ExportError

    with pytest.raises(ExportError, match="at least one input"):
        check_int8_tflite(fixed, [])
