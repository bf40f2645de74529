"""TFLite ``.tflite`` export with litert-torch: fp32, or full-integer int8 through its PT2E
quantizer (int8 weights, activations *and* I/O tensors).

Layout choice: the model is wrapped with ``litert_torch.to_channel_last_io`` so the TFLite
input is NHWC and every rank-4 output is NHWC -- TFLite's native layout, so the converter
folds the transposes away and the device feeds an HWC camera tile without a transpose.
Outputs keep the model's order and are addressed by the ``serving_default`` signature keys
``output_<i>``; the exact shapes, dtypes and quantization parameters are read back from the
converted model (``firmware_py.runtimes``) rather than assumed. One image input is supported.

An int8 model is accepted only if it passes ``export.int8_spec.check_int8_tflite``: TFLite's
int8 spec, and a load and invoke with XNNPACK off (the builtin kernels); the cosine of those
outputs to the XNNPACK ones is kept in ``TfliteExport.builtin_cosines``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from . import ExportError
from .int8_spec import check_int8_tflite
from .prepare import for_export
from .quantize import float_modules, litert_quantizer, quantize_pt2e

log = logging.getLogger(__name__)

SIGNATURE = "serving_default"
Precision = Literal["fp32", "int8"]


@dataclass
class TfliteExport:
    buffer: bytes
    precision: Precision
    nhwc_outputs: list[int]  # indices of outputs transposed NCHW -> NHWC
    seconds: float = 0.0
    # int8: per output, cosine of the builtin-kernel (XNNPACK off) outputs to the XNNPACK ones
    builtin_cosines: list[float] = field(default_factory=list)


def nchw_to_nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).contiguous()  # (N, H, W, C)


def convert_tflite(model: nn.Module, example_inputs: tuple[torch.Tensor, ...], *,
                   precision: Precision = "fp32",
                   calibration: Iterable[torch.Tensor] | None = None,
                   tflite_spec: bool = True) -> tuple[bytes, list[int]]:
    """The ``.tflite`` bytes of ``model`` and its NHWC output indices, not gated: the steps
    of ``export_tflite`` before its gate. ``tflite_spec=False`` switches off the quantizer's
    TFLite int8 spec annotations (``export.tflite_qspec``), giving what the gate refuses."""
    import litert_torch
    from litert_torch.quantize.quant_config import QuantConfig

    if len(example_inputs) != 1 or example_inputs[0].ndim != 4:
        raise ExportError("TFLite export supports one NCHW image input")
    litert_torch.config.show_progress = False
    model = for_export(model)
    # 1. wrap: NHWC input, NHWC rank-4 outputs
    with torch.no_grad():
        outputs = model(*example_inputs)
    outputs = outputs if isinstance(outputs, (tuple, list)) else [outputs]
    nhwc_outputs = [i for i, o in enumerate(outputs) if o.ndim == 4]
    wrapped = litert_torch.to_channel_last_io(model, args=[0], outputs=nhwc_outputs).eval()
    example = (nchw_to_nhwc(example_inputs[0]),)
    quant_config = None
    # 2. quantize (int8): PT2E with litert-torch's quantizer, calibrated on real batches
    if precision == "int8":
        if calibration is None:
            raise ExportError("int8 export needs calibration batches")
        quantizer = litert_quantizer(float_modules(model), tflite_spec)
        # NOTE: the converter rejects folded int8 weights; it folds the Q/DQ pairs itself.
        wrapped = quantize_pt2e(wrapped, example, calibration, quantizer, transform=nchw_to_nhwc,
                                fold_quantize=False)
        quant_config = QuantConfig(pt2e_quantizer=quantizer)
    # 3. convert to a TFLite flatbuffer
    buffer = litert_torch.convert(wrapped, example, quant_config=quant_config).model_content()
    if not buffer:
        raise ExportError("litert-torch produced an empty model")
    return bytes(buffer), nhwc_outputs


def export_tflite(model: nn.Module, example_inputs: tuple[torch.Tensor, ...], *,
                  precision: Precision = "fp32",
                  calibration: Iterable[torch.Tensor] | None = None,
                  gate_inputs: Sequence[torch.Tensor] | None = None) -> TfliteExport:
    """Convert ``model`` (``convert_tflite``); an int8 model must then pass the gate of the
    module docstring on ``gate_inputs`` (NCHW batches; default the example input)."""
    start = time.perf_counter()
    buffer, nhwc_outputs = convert_tflite(model, example_inputs, precision=precision,
                                          calibration=calibration)
    # 4. gate (int8): TFLite's int8 spec, and a run in the builtin kernels with XNNPACK off
    cosines = []
    if precision == "int8":
        gate = gate_inputs or example_inputs[:1]
        cosines = check_int8_tflite(buffer, [x.numpy() for x in gate])
    seconds = time.perf_counter() - start
    log.info("tflite %s: %d bytes in %.1f s", precision, len(buffer), seconds)
    return TfliteExport(buffer, precision, nhwc_outputs, seconds, cosines)
