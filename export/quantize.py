"""Post-training static int8 quantization with PT2E (PyTorch 2 Export quantization): export ->
``prepare_pt2e`` (observers) -> calibrate on real input batches -> ``convert_pt2e`` (Q/DQ).

Weights are symmetric per-channel int8, activations per-tensor affine int8 -- the scheme the
XNNPACK and TFLite int8 kernels run natively. The quantizer is backend-specific (XNNPACK's for
ExecuTorch, litert-torch's for TFLite), the procedure is the same, so it takes the quantizer.

Clamp fusion. Both stock quantizers fuse only ``conv -> relu`` into one quantized partition; a
``conv -> hardtanh`` (ReLU6, the activation of MobileNet-style nets) gets its observer on the
*conv* output and the hardtanh shares it, so the int8 grid spans the conv's pre-activation
range (e.g. [-12, 11] for SpeckNet's stem) of which [0, 6] keeps only a quarter of the 256
levels, in every block. Both runtimes fuse the clamp into the conv (XNNPACK's
``FuseActivationPass``, TFLite's fused RELU6), so the right partition is the one ``conv ->
relu`` gets: the conv's inputs quantized, its output not, the clamp's output observed
(``annotate_conv_clamp``, applied before the stock patterns by both quantizers here).

TFLite's int8 spec (litert-torch only). The stock litert-torch quantizer leaves some ops with
quantization TFLite's int8 kernels refuse (a LOGISTIC whose output scale is not 1/256, an
AVERAGE_POOL_2D whose output scale differs from its input's); ``litert_quantizer`` adds the
annotations that make them follow the spec (``export.tflite_qspec``, which says why and what),
and ``export.int8_spec`` gates every int8 ``.tflite`` on it.

Float islands. A net may name submodules that stay float in its int8 artifacts
(``int8_float_modules``, dotted paths): their nodes lose the quantizer's annotations
(``keep_float``), so the runtime dequantizes into them and they run fp32 inside the same
delegate. SpeckNet keeps its heatmap branch float: measured on the held-out split, quantizing
that one branch (3 of its 38 convs, ~8% of the MACs) cost 7 mAP50 points, the rest of the net
under 0.5 (``models/nets/specknet.py``); and its first block's expand -> depthwise pair, whose
shared tensor per-tensor int8 cannot hold once dynamic weight decay has shrunk most of its
channels (``bench/int8_islands.py`` finds such a part: each candidate kept float in turn).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial

import torch
from torch import nn
from tqdm import tqdm

from . import ExportError

log = logging.getLogger(__name__)

CONV_TARGETS = (torch.ops.aten.conv1d.default, torch.ops.aten.conv2d.default,
                torch.ops.aten.convolution.default)
CLAMP_TARGETS = (torch.ops.aten.hardtanh.default, torch.ops.aten.hardtanh_.default,
                 torch.ops.aten.relu6.default)
ANNOTATION_KEY = "quantization_annotation"


def annotate_conv_clamp(graph: torch.fx.GraphModule, config) -> int:
    """Annotate every ``conv -> hardtanh`` (or ``relu6``) pair, the clamp the conv's only user,
    as one partition: conv inputs, weight and bias by ``config``, the output observed after the
    clamp. ``config`` is a PT2E ``QuantizationConfig``; returns the number of pairs annotated."""
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation

    fused = 0
    for clamp in graph.graph.nodes:
        if clamp.op != "call_function" or clamp.target not in CLAMP_TARGETS:
            continue
        conv = clamp.args[0]
        if (not isinstance(conv, torch.fx.Node) or conv.op != "call_function"
                or conv.target not in CONV_TARGETS or len(conv.users) > 1
                or ANNOTATION_KEY in conv.meta or ANNOTATION_KEY in clamp.meta):
            continue
        qspecs = {conv.args[0]: config.input_activation, conv.args[1]: config.weight}
        if len(conv.args) > 2 and isinstance(conv.args[2], torch.fx.Node):
            qspecs[conv.args[2]] = config.bias
        conv.meta[ANNOTATION_KEY] = QuantizationAnnotation(input_qspec_map=qspecs,
                                                           _annotated=True)
        clamp.meta[ANNOTATION_KEY] = QuantizationAnnotation(
            output_qspec=config.output_activation, _annotated=True)
        fused += 1
    log.debug("fused %d conv -> hardtanh partitions", fused)
    return fused


def _inside(path: str, modules: Sequence[str]) -> bool:
    """Whether dotted module ``path`` is one of ``modules`` or inside one (wrappers may prefix
    the paths, so a module matches anywhere in the path)."""
    padded = f".{path}."
    return any(f".{m}." in padded for m in modules)


def float_modules(model: nn.Module) -> tuple[str, ...]:
    """The submodules ``model`` asks to keep float in int8 (its ``int8_float_modules``)."""
    return tuple(getattr(model, "int8_float_modules", ()))


def keep_float(graph: torch.fx.GraphModule, modules: Sequence[str]) -> int:
    """Remove the quantization annotations of every node traced from inside ``modules``; those
    nodes then run in float. Returns how many nodes were cleared."""
    cleared = 0
    for node in graph.graph.nodes:
        paths = [path for path, _ in node.meta.get("nn_module_stack", {}).values()]
        if any(_inside(p, modules) for p in paths) and node.meta.pop(ANNOTATION_KEY, None):
            cleared += 1
    log.debug("kept %d nodes of %s in float", cleared, ", ".join(modules))
    return cleared


def _specks_quantizer(quantizer_cls: type, float_modules: Sequence[str],
                      then: Callable[[torch.fx.GraphModule], None] | None = None) -> type:
    """``quantizer_cls`` whose ``annotate`` first claims the ``conv -> hardtanh`` pairs, runs
    ``then`` on the graph after its own annotation, and last leaves ``float_modules``
    unquantized."""

    class SpecksQuantizer(quantizer_cls):
        def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            annotate_conv_clamp(model, self.global_config)
            model = super().annotate(model)
            if then is not None:
                then(model)
            if float_modules:
                keep_float(model, float_modules)
            return model

    SpecksQuantizer.__name__ = SpecksQuantizer.__qualname__ = f"Specks{quantizer_cls.__name__}"
    return SpecksQuantizer


def xnnpack_quantizer(float_modules: Sequence[str] = ()):
    """ExecuTorch XNNPACK quantizer: per-channel symmetric weights, static activations,
    ``conv -> hardtanh`` fused, ``float_modules`` left in float."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    config = get_symmetric_quantization_config(is_per_channel=True)
    return _specks_quantizer(XNNPACKQuantizer, float_modules)().set_global(config)


def litert_quantizer(float_modules: Sequence[str] = (), tflite_spec: bool = True):
    """litert-torch PT2E quantizer: per-channel symmetric weights, static activations,
    ``conv -> hardtanh`` fused, ``float_modules`` left in float, and (``tflite_spec``, the
    default) the annotations TFLite's int8 spec needs (``export.tflite_qspec``).
    ``tflite_spec=False`` is the stock behaviour, which breaks the spec."""
    from litert_torch.quantize import pt2e_quantizer

    from .tflite_qspec import annotate_tflite_spec

    config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True)
    then = partial(annotate_tflite_spec, config=config) if tflite_spec else None
    return _specks_quantizer(pt2e_quantizer.PT2EQuantizer, float_modules, then)().set_global(
        config)


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
    # NOTE: that swaps the graph's dropout / batch-norm ops but leaves nn.Module's ``training``
    # flag True (an exported module's ``eval()`` raises), so litert-torch warned "Your model
    # is converted in training mode"; the flag is set to what the graph now is.
    for module in converted.modules():
        module.training = False
    return converted
