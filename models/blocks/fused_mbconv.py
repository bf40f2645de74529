"""Fused-MBConv (Tan & Le, "EfficientNetV2: Smaller Models and Faster Training",
arXiv 2104.00298, Sec. 3.2, Fig. 2): the inverted residual's expand 1x1 and depthwise kxk
replaced by one dense kxk conv.

Layer order: dense kxk conv-norm-act to the expanded width (stride 1 or 2, optional dilation)
-> optional attention on the expanded features -> *linear* 1x1 projection -> residual add when
stride is 1 and channels match. Same constructor as ``InvertedResidual``, so a net can pick
either per stage. The paper's point: depthwise convs cannot use the hardware well at high
resolution, and in early stages the dense conv is faster despite more FLOPs. Here the same
question is asked of int8 CPU kernels (XNNPACK speeds dense convs far more than depthwise).

Choices of ours:
- NOTE: with ``expand_ratio`` 1 the paper drops the projection (one kxk conv-norm-act); this
  block always projects, so pruned widths (``mid_ch``) work the same way at every ratio.
- ``rep=True`` builds the kxk conv as a RepVGG branch set (``repconv.RepConvNormAct``),
  folded to one conv at export.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer
from .create_attn import AttnLayer, create_attn
from .create_norm import NormLayer
from .repconv import RepConvNormAct


class FusedMBConv(nn.Module):
    """Dense kxk expand -> attention -> linear 1x1 projection (+ residual)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand_ratio: float = 4.0,
                 kernel_size: int = 3, dilation: int = 1, attn: AttnLayer = None,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu6",
                 mid_ch: int | None = None, rep: bool = False) -> None:
        super().__init__()
        mid = mid_ch or round(in_ch * expand_ratio)
        self.use_residual = stride == 1 and in_ch == out_ch
        conv = RepConvNormAct if rep else ConvNormAct
        self.fused = conv(in_ch, mid, kernel_size, stride, 1, dilation, norm, act)
        self.attn = create_attn(attn, mid)
        self.project = ConvNormAct(mid, out_ch, 1, norm=norm, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.attn(self.fused(x)))
        return x + y if self.use_residual else y
