"""TFLite's int8 rules as PT2E annotations, for litert-torch's quantizer (``export.quantize.
litert_quantizer``): what its stock annotators leave out, so every int8 ``.tflite`` follows
TFLite's int8 spec (https://ai.google.dev/edge/litert/models/quantization_spec), which
``export.int8_spec`` then checks.

Fixed output ranges. The spec fixes the output quantization of LOGISTIC (scale 1/256, zero
point -128), SOFTMAX (1/256, -128), TANH (1/128, 0) and LOG_SOFTMAX (16/256, 127); the builtin
kernels refuse any other (``activations.cc``: "output->params.scale == 1. / 256 was not
true"), only XNNPACK runs them. litert-torch's ``fixed_qparams`` annotator skips a sigmoid
whose input node carries no annotation, and an ``aten.reshape`` never does (its propagation
covers ``view``, not ``reshape``): TiedSE's sigmoid reads the reshape of its tied FC, so the
observer of the ``mul`` after it set the LOGISTIC's output to the gate's calibrated range
(scale ~0.0027 in specknet-nano). It also knows neither ``aten.softmax.int`` (what
``torch.export`` emits) nor tanh. ``annotate_fixed_qparams`` gives each such op on a quantized
input (through reshapes) its fixed output quantization; one on a float input stays float.

Shared ranges. The spec requires the same scale and zero point on the input and output of
AVERAGE_POOL_2D, MAX_POOL_2D, RESIZE_BILINEAR, PAD and the like (their int8 kernels move codes,
not values). The stock quantizer annotates no ``avg_pool2d``, no upsampling, and a
``max_pool2d`` only on an annotated input; such an op's output then got an observer of its
own, and the converter either requantized after it or, for CSNet's strided gOctConv
(``avg_pool2d`` -> conv, by NCHW transposes), refused the graph outright ("'tfl.transpose' op
quantization parameters violate the same scale constraint") whenever calibration did not
happen to give both observers one range. ``annotate_shared_qparams`` makes such an op's
output share its input's quantization, as the stock annotator does for
``adaptive_avg_pool2d``: a pool or resize never widens its input's range, so nothing clips.

The fixes belong here, not in the nets: the sigmoid gate is the published SE / TiedSE block,
the pools and resizes are plain ops. The XNNPACK quantizer needs no counterpart: it annotates
no sigmoid, softmax or tanh, so in the ``.pte`` a gate sits between a dequantize and a
quantize at its calibrated range (e.g. SE gates at scale ~0.0025), which the XNNPACK delegate
runs as it is (ExecuTorch has no fixed-range rule; the int8 ``.pte`` exports and meets its
parity gate), and its pools take any input and output scales.
"""

from __future__ import annotations

import logging

import torch

from .quantize import ANNOTATION_KEY

log = logging.getLogger(__name__)

SHAPE_TARGETS = (torch.ops.aten.reshape.default, torch.ops.aten.view.default,
                 torch.ops.aten.flatten.using_ints, torch.ops.aten.squeeze.dim,
                 torch.ops.aten.unsqueeze.default, torch.ops.aten.permute.default)
# op -> the (scale, zero point) TFLite requires of its int8 output
FIXED_QPARAMS = {
    torch.ops.aten.sigmoid.default: (1 / 256, -128),
    torch.ops.aten.softmax.int: (1 / 256, -128),
    torch.ops.aten._softmax.default: (1 / 256, -128),
    torch.ops.aten.tanh.default: (1 / 128, 0),
    torch.ops.aten.log_softmax.int: (16 / 256, 127),
    torch.ops.aten._log_softmax.default: (16 / 256, 127),
}
# ops whose int8 output TFLite requires to share its input's quantization
SHARED_TARGETS = (torch.ops.aten.avg_pool2d.default, torch.ops.aten.max_pool2d.default,
                  torch.ops.aten.upsample_bilinear2d.vec, torch.ops.aten.upsample_nearest2d.vec,
                  torch.ops.aten.upsample_bilinear2d.default,
                  torch.ops.aten.upsample_nearest2d.default,
                  torch.ops.aten.constant_pad_nd.default, torch.ops.aten.pad.default)


def _observed(node: torch.fx.Node) -> bool:
    annotation = node.meta.get(ANNOTATION_KEY)
    return annotation is not None and annotation.output_qspec is not None


def _observed_source(node: object) -> torch.fx.Node | None:
    """The node whose observed output ``node`` is, through reshape-like ops (which the
    converter runs in int8 at their input's quantization); None if ``node`` is float."""
    while isinstance(node, torch.fx.Node):
        if _observed(node):
            return node
        if node.target not in SHAPE_TARGETS:
            return None
        node = node.args[0]
    return None


def _unannotated(node: torch.fx.Node, targets) -> bool:
    return (node.op == "call_function" and node.target in targets
            and ANNOTATION_KEY not in node.meta and isinstance(node.args[0], torch.fx.Node))


def annotate_fixed_qparams(graph: torch.fx.GraphModule) -> int:
    """Fix the int8 output quantization of every unannotated ``FIXED_QPARAMS`` op whose input
    is quantized; returns the number of nodes annotated."""
    from torchao.quantization.pt2e.quantizer import (
        FixedQParamsQuantizationSpec,
        QuantizationAnnotation,
    )

    fixed = 0
    for node in graph.graph.nodes:
        if not _unannotated(node, FIXED_QPARAMS) or _observed_source(node.args[0]) is None:
            continue
        scale, zero_point = FIXED_QPARAMS[node.target]
        spec = FixedQParamsQuantizationSpec(dtype=torch.int8, scale=scale, zero_point=zero_point,
                                            quant_min=-128, quant_max=127,
                                            qscheme=torch.per_tensor_affine)
        node.meta[ANNOTATION_KEY] = QuantizationAnnotation(output_qspec=spec, _annotated=True)
        fixed += 1
    log.debug("fixed the int8 output quantization of %d nodes", fixed)
    return fixed


def annotate_shared_qparams(graph: torch.fx.GraphModule, input_qspec) -> int:
    """Make every unannotated ``SHARED_TARGETS`` op's output share its input's quantization
    (the input observed with ``input_qspec`` where nothing observes it yet); returns the
    number of nodes annotated."""
    from torchao.quantization.pt2e.quantizer import (
        QuantizationAnnotation,
        SharedQuantizationSpec,
    )

    shared = 0
    for node in graph.graph.nodes:
        if not _unannotated(node, SHARED_TARGETS):
            continue
        source, observed = node.args[0], _observed_source(node.args[0])
        node.meta[ANNOTATION_KEY] = QuantizationAnnotation(
            input_qspec_map={source: SharedQuantizationSpec(observed) if observed is not None
                             else input_qspec},
            output_qspec=SharedQuantizationSpec((source, node)), _annotated=True)
        shared += 1
    log.debug("shared the input quantization of %d nodes", shared)
    return shared


def annotate_tflite_spec(graph: torch.fx.GraphModule, config) -> None:
    """Both annotations above, after litert-torch's own (``config``: its
    ``QuantizationConfig``), then its propagation through the shape ops that follow them."""
    from litert_torch.quantize.pt2e_quantizer_utils import propagate_annotation

    shared = annotate_shared_qparams(graph, config.input_activation)
    if annotate_fixed_qparams(graph) + shared:
        propagate_annotation(graph)
