"""Depthwise-separable convolution (Howard et al., "MobileNets", arXiv 1704.04861, Sec. 3.1)
and the inverted residual with linear bottleneck (Sandler et al., "MobileNetV2",
arXiv 1801.04381, Sec. 3.3, Table 1).

Inverted residual: 1x1 expand (skipped when ``expand_ratio`` is 1) -> depthwise kxk (stride 1
or 2, optional dilation) -> optional attention on the expanded features (the MobileNetV3
placement, arXiv 1905.02244) -> *linear* 1x1 projection (no activation) -> residual add when
stride is 1 and channels match. Activation defaults to ReLU6 as in the paper.

``rep=True`` builds the depthwise conv as a RepVGG branch set (``repconv.RepConvNormAct``, the
MobileOne placement, arXiv 2206.04861), folded to one depthwise conv at export.

``tied=(B, G)`` other than ``(1, 1)`` makes the inverted residual's expand 1x1 (and the
separable conv's pointwise 1x1) a Tied Block / Group Convolution (``tied.TiedConvNormAct``,
arXiv 2009.12021, Sec. 3): the TiedBottleneck's placement, a tied entry 1x1 and a plain exit
1x1, so the projection still mixes every channel block.

The attention slot takes a name (``"se"``, ``"tiedse"``, ``"cbam"``), a factory
``channels -> nn.Module`` (e.g. ``functools.partial(SE, gate="hardsigmoid")``) or None.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer
from .create_attn import AttnLayer, create_attn
from .create_norm import NormLayer
from .repconv import RepConvNormAct
from .tied import TiedConvNormAct

Tied = tuple[int, int]  # (blocks B, groups G) of a tied 1x1; (1, 1) is a plain conv


def pointwise(in_ch: int, out_ch: int, norm: NormLayer, act: ActLayer,
              tied: Tied = (1, 1)) -> nn.Module:
    """A 1x1 conv-norm-act unit, tied (TBC / TGC) unless ``tied == (1, 1)``."""
    if tuple(tied) == (1, 1):
        return ConvNormAct(in_ch, out_ch, 1, norm=norm, act=act)
    blocks, groups = tied
    return TiedConvNormAct(in_ch, out_ch, 1, blocks=blocks, groups=groups, norm=norm, act=act)


class DepthwiseSeparableConv(nn.Sequential):
    """MobileNet v1 unit: depthwise kxk conv-norm-act, then pointwise 1x1 conv-norm-act."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1,
                 dilation: int = 1, norm: NormLayer = "batchnorm", act: ActLayer = "relu",
                 tied: Tied = (1, 1)) -> None:
        super().__init__()
        self.dw = ConvNormAct(in_ch, in_ch, kernel_size, stride, in_ch, dilation, norm, act)
        self.pw = pointwise(in_ch, out_ch, norm, act, tied)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: expand -> depthwise -> attention -> linear projection (+ residual).

    ``mid_ch`` states the expanded width explicitly (pruned nets); the expand conv is then
    always built, even where ``mid_ch`` happens to equal ``in_ch``.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand_ratio: float = 6.0,
                 kernel_size: int = 3, dilation: int = 1, attn: AttnLayer = None,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu6",
                 mid_ch: int | None = None, rep: bool = False, tied: Tied = (1, 1)) -> None:
        super().__init__()
        mid = mid_ch or round(in_ch * expand_ratio)
        dw = RepConvNormAct if rep else ConvNormAct
        self.use_residual = stride == 1 and in_ch == out_ch
        self.expand = (pointwise(in_ch, mid, norm, act, tied)
                       if mid_ch is not None or mid != in_ch else nn.Identity())
        self.dw = dw(mid, mid, kernel_size, stride, mid, dilation, norm, act)
        self.attn = create_attn(attn, mid)
        self.project = ConvNormAct(mid, out_ch, 1, norm=norm, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.attn(self.dw(self.expand(x))))
        return x + y if self.use_residual else y
