"""Post-training static int8 quantization with PT2E (PyTorch 2 Export quantization): export ->
``prepare_pt2e`` (observers) -> calibrate on real input batches -> ``convert_pt2e`` (Q/DQ).

Weights are symmetric per-channel int8, activations per-tensor affine int8 -- the scheme the
XNNPACK and TFLite int8 kernels run natively. The quantizer is backend-specific (XNNPACK's for
ExecuTorch, litert-torch's for TFLite), the procedure is the same, so it takes the quantizer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import torch
from torch import nn
from tqdm import tqdm

from . import ExportError

log = logging.getLogger(__name__)


def xnnpack_quantizer():
    """ExecuTorch XNNPACK quantizer: per-channel symmetric weights, static activations."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))


def litert_quantizer():
    """litert-torch PT2E quantizer: per-channel symmetric weights, static activations."""
    from litert_torch.quantize import pt2e_quantizer

    config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True)
    return pt2e_quantizer.PT2EQuantizer().set_global(config)


def quantize_pt2e(model: nn.Module, example_inputs: tuple[torch.Tensor, ...],
                  calibration: Iterable[torch.Tensor], quantizer,
                  transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  fold_quantize: bool = True) -> torch.fx.GraphModule:
    """Return the converted (Q/DQ) graph of ``model`` calibrated on ``calibration``.

    ``calibration`` yields input batches in the model's input layout (``transform``, if given,
    maps each batch first, e.g. NCHW -> NHWC). ``fold_quantize=False`` keeps float weights
    behind explicit quantize ops (what the litert-torch converter expects). An empty iterable
    is an error: calibrating on nothing would leave the observers at their initial ranges.
    """
    from torchao.quantization.pt2e import move_exported_model_to_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    graph = torch.export.export(model.eval(), example_inputs).module()
    prepared = prepare_pt2e(graph, quantizer)
    batches = 0
    with torch.no_grad():
        for batch in tqdm(calibration, desc="calibrating", unit="batch", leave=False):
            prepared(transform(batch) if transform else batch)
            batches += 1
    if batches == 0:
        raise ExportError("int8 calibration got no batches; give real input images")
    log.info("calibrated on %d batches", batches)
    converted = convert_pt2e(prepared, fold_quantize=fold_quantize)
    move_exported_model_to_eval(converted)
    return converted
