"""The int8 ``.tflite`` gate: a converted model must follow TFLite's int8 quantization spec
(https://ai.google.dev/edge/litert/models/quantization_spec) and run in TFLite's builtin
kernels with XNNPACK off, not only through XNNPACK.

Why a gate: XNNPACK accepts int8 graphs the builtin kernels refuse (a LOGISTIC whose output
scale is not 1/256 loads and runs through XNNPACK, and fails ``activations.cc`` "Node number
19 (LOGISTIC) failed to prepare" without it), so a graph that only works on the XNNPACK path
breaks tflite-runtime, other delegates and any board where XNNPACK does not start.

Two checks, both naming the subgraph node and op that breaks a rule:
1. static, on the flatbuffer (``ai_edge_litert.schema_py_generated``): the spec's fixed output
   quantization (LOGISTIC, SOFTMAX, TANH, LOG_SOFTMAX, L2_NORMALIZATION), the same scale and
   zero point on the input and output of the ops that only move or pick int8 values (RESHAPE,
   MAX_POOL_2D, RESIZE_BILINEAR, CONCATENATION, ...: their kernels copy the int8 codes, so a
   mismatch is silently wrong, no kernel refuses it), and zero point 0 on int8 weights;
2. at run time: the model is loaded and invoked on real inputs with
   ``OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES`` (``LiteRTRunner(delegates=False)``),
   so every check the kernels' ``Prepare`` makes is made; its outputs are then compared with
   the XNNPACK run of the same file (cosine per output), which the exporter records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import ExportError
from .parity import cosine

log = logging.getLogger(__name__)

# op -> the (scale, zero point) its int8 output must have
FIXED_OUTPUT = {
    "LOGISTIC": (1 / 256, -128),
    "SOFTMAX": (1 / 256, -128),
    "TANH": (1 / 128, 0),
    "LOG_SOFTMAX": (16 / 256, 127),
    "L2_NORMALIZATION": (1 / 128, 0),
}
# ops whose int8 inputs (the data inputs: all for CONCATENATION/MAXIMUM/MINIMUM, input 0 for
# the rest) and output must share one scale and zero point
SAME_SCALE = frozenset({
    "AVERAGE_POOL_2D", "BATCH_TO_SPACE_ND", "CONCATENATION", "GATHER", "MAXIMUM",
    "MAX_POOL_2D", "MINIMUM", "PAD", "PADV2", "RESHAPE", "RESIZE_BILINEAR", "SLICE",
    "SPACE_TO_BATCH_ND", "SPACE_TO_DEPTH", "SQUEEZE", "TRANSPOSE",
})
MULTI_INPUT = frozenset({"CONCATENATION", "MAXIMUM", "MINIMUM"})
WEIGHTED = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"})
_RTOL = 1e-6


class Int8SpecError(ExportError):
    """An int8 ``.tflite`` breaks TFLite's int8 spec or fails in the builtin kernels."""


@dataclass(frozen=True)
class Violation:
    subgraph: int
    node: int
    op: str
    rule: str

    def __str__(self) -> str:
        where = f"subgraph {self.subgraph} " if self.subgraph else ""
        return f"{where}node {self.node} ({self.op}): {self.rule}"


def _is_int8(tensor) -> bool:
    from ai_edge_litert import schema_py_generated as schema

    return tensor.Type() == schema.TensorType.INT8


def _qparams(tensor) -> tuple[float, int] | None:
    """(scale, zero point) of a per-tensor quantized int8 tensor, else None."""
    quant = tensor.Quantization()
    if not _is_int8(tensor) or quant is None or quant.ScaleLength() != 1:
        return None
    return float(quant.ScaleAsNumpy()[0]), int(quant.ZeroPointAsNumpy()[0])


def _fixed_output(op: str, inputs: list, out: tuple[float, int] | None) -> list[str]:
    if op not in FIXED_OUTPUT or out is None:
        return []
    scale, zero_point = FIXED_OUTPUT[op]
    if np.isclose(out[0], scale, rtol=_RTOL, atol=0) and out[1] == zero_point:
        return []
    return [f"output (scale, zero point) ({out[0]:.6g}, {out[1]}) must be "
            f"({scale:.6g}, {zero_point})"]


def _same_scale(op: str, inputs: list, out: tuple[float, int] | None) -> list[str]:
    if op not in SAME_SCALE or out is None:
        return []
    broken = []
    for i, tensor in enumerate(inputs if op in MULTI_INPUT else inputs[:1]):
        got = _qparams(tensor) if tensor is not None else None
        if got is not None and (got[1] != out[1]
                                or not np.isclose(got[0], out[0], rtol=_RTOL, atol=0)):
            broken.append(f"input {i} (scale, zero point) ({got[0]:.6g}, {got[1]}) must equal "
                          f"the output's ({out[0]:.6g}, {out[1]})")
    return broken


def _symmetric_weights(op: str, inputs: list, out: tuple[float, int] | None) -> list[str]:
    weights = inputs[1] if op in WEIGHTED and len(inputs) > 1 else None
    quant = weights.Quantization() if weights is not None else None
    if quant is None or not _is_int8(weights) or not np.any(quant.ZeroPointAsNumpy()):
        return []
    return ["int8 weights (input 1) must have zero point 0"]


RULES = (_fixed_output, _same_scale, _symmetric_weights)


def _rule_breaks(op: str, inputs: list, outputs: list) -> list[str]:
    """What ``op`` (its input and output tensors, None where absent) breaks."""
    out = _qparams(outputs[0]) if outputs and outputs[0] is not None else None
    return [broken for rule in RULES for broken in rule(op, inputs, out)]


def spec_violations(buffer: bytes) -> list[Violation]:
    """Every node of the ``.tflite`` ``buffer`` that breaks a rule of the module docstring."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(buffer, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    ops = [names.get(max(c.BuiltinCode(), c.DeprecatedBuiltinCode()), "CUSTOM") for c in codes]
    found = []
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)

        def tensors(indices: np.ndarray, graph=graph) -> list:
            return [graph.Tensors(int(i)) if i >= 0 else None for i in indices]

        for n in range(graph.OperatorsLength()):
            node = graph.Operators(n)
            op = ops[node.OpcodeIndex()]
            for rule in _rule_breaks(op, tensors(node.InputsAsNumpy()),
                                     tensors(node.OutputsAsNumpy())):
                found.append(Violation(s, n, op, rule))
    return found


def _named(error: Exception) -> str:
    """The runtime's message, with the failing node and op first when it names them."""
    text = " ".join(str(error).split())
    match = re.search(r"Node number (\d+) \((\w+)\)", text)
    return f"node {match.group(1)} ({match.group(2)}): {text}" if match else text


def check_int8_tflite(buffer: bytes, inputs: Sequence[np.ndarray]) -> list[float]:
    """Refuse ``buffer`` (``Int8SpecError``) if it breaks the spec or fails to load and run
    on ``inputs`` (float32 NCHW batches) with XNNPACK off; return, per output, the cosine of
    the builtin-kernel outputs to the XNNPACK outputs over all ``inputs``."""
    from firmware_py.runtimes.litert import LiteRTRunner

    if not inputs:
        raise ExportError("the int8 .tflite gate needs at least one input to invoke")
    violations = spec_violations(buffer)
    if violations:
        raise Int8SpecError("int8 .tflite breaks TFLite's int8 spec: "
                            + "; ".join(str(v) for v in violations))
    try:
        reference = LiteRTRunner(buffer, delegates=False)
        builtin = [reference(x) for x in inputs]
    except (RuntimeError, ValueError) as error:
        raise Int8SpecError("int8 .tflite fails in TFLite's builtin kernels (XNNPACK off): "
                            f"{_named(error)}") from None
    xnnpack = LiteRTRunner(buffer)
    delegated = [xnnpack(x) for x in inputs]
    cosines = [cosine(np.concatenate([b[i].ravel() for b in builtin]),
                      np.concatenate([d[i].ravel() for d in delegated]))
               for i in range(len(xnnpack.outputs))]
    log.info("int8 .tflite passes the builtin kernels; cosine to XNNPACK %s",
             " ".join(f"{c:.6f}" for c in cosines))
    return cosines
