"""ExecuTorch ``.pte`` export with the XNNPACK delegate, in the numbered steps of ExecuTorch's
``examples/xnnpack/aot_compiler.py``: torch.export -> (int8: PT2E quantize, re-export) ->
``to_edge_transform_and_lower`` with ``XnnpackPartitioner`` -> ``to_executorch`` -> bytes.

Any op left outside the delegate would run in the portable (slow, float) kernels on the device,
so by default it is an error; ``allow_non_delegated=True`` records them instead. The program
keeps PyTorch's I/O: float32 NCHW in, float32 outputs in the model's order (int8 programs
quantize and dequantize inside the delegate).
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from . import ExportError
from .prepare import for_export
from .quantize import float_modules, quantize_pt2e, xnnpack_quantizer

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]


class DelegationError(ExportError):
    """Ops were left outside the XNNPACK delegate."""


@dataclass
class PteExport:
    buffer: bytes
    precision: Precision
    non_delegated_ops: list[str] = field(default_factory=list)
    seconds: float = 0.0


def non_delegated_ops(graph: torch.fx.Graph) -> list[str]:
    """Names of the call_function nodes that are not XNNPACK delegate calls."""
    return sorted({str(n.target) for n in graph.nodes if n.op == "call_function"
                   and n.target is not operator.getitem
                   and "executorch_call_delegate" not in str(n.target)})


def export_pte(model: nn.Module, example_inputs: tuple[torch.Tensor, ...], *,
               precision: Precision = "fp32", calibration: Iterable[torch.Tensor] | None = None,
               allow_non_delegated: bool = False) -> PteExport:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    start = time.perf_counter()
    model = for_export(model)
    # 1. quantize (int8): PT2E with the XNNPACK quantizer, calibrated on real batches
    if precision == "int8":
        if calibration is None:
            raise ExportError("int8 export needs calibration batches")
        quantizer = xnnpack_quantizer(float_modules(model))
        model = quantize_pt2e(model, example_inputs, calibration, quantizer)
    # 2. torch.export: the ATen graph
    program = torch.export.export(model, example_inputs)
    # 3. lower: edge dialect, XNNPACK partitions delegated
    edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    # 4. check that every op is delegated
    leftover = non_delegated_ops(edge.exported_program().graph_module.graph)
    if leftover and not allow_non_delegated:
        raise DelegationError(f"ops outside the XNNPACK delegate: {', '.join(leftover)}")
    if leftover:
        log.warning("ops outside the XNNPACK delegate: %s", ", ".join(leftover))
    # 5. serialise
    buffer = edge.to_executorch().buffer
    if not buffer:
        raise ExportError("ExecuTorch produced an empty program")
    seconds = time.perf_counter() - start
    log.info("pte %s: %d bytes in %.1f s", precision, len(buffer), seconds)
    return PteExport(bytes(buffer), precision, leftover, seconds)
