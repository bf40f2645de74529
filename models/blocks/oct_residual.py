"""Octave inverted residual: the MobileNetV2 block (arXiv 1801.04381, Sec. 3.3) with its three
convs replaced by gOctConvs (Cheng et al., CSNet, arXiv 2003.05643, Sec. 3.1, Fig. 3), so a
fraction ``low`` of the expanded width runs at half resolution (the low-frequency branch).

Layer order, tensor in and tensor out (a drop-in for ``InvertedResidual`` in a stage):
1x1 gOctConv-CBR, one scale -> two scales (high: full resolution, ``1 - low`` of the hidden
width; low: half resolution, reached by the gOctConv's max-pool path) -> per-scale depthwise
kxk CBR (the paper's simplified gOctConv; ``stride=2`` average-pools both branches first, as
gOctConv strides) -> optional attention, one per scale -> *linear* 1x1 gOctConv-BN, two
scales -> one (the low branch's conv runs at half resolution, then bilinear upsampling) ->
residual add when stride is 1 and channels match.

Choices where the papers are silent:
- The block starts and ends at one scale (CSNet's last block of each stage does the same):
  SpeckNet's stages, residuals and FPN taps stay plain tensors. The saving is in the
  expanded width, where MobileNetV2 spends its MACs: at ``low=0.5`` the depthwise costs
  5/8 of the plain one, the 1x1s about 5/8 too.
- ``low`` defaults to CSNet's split [0.5, 0.5]. Norm and activation follow the host net
  (BatchNorm, ReLU6 in SpeckNet), not CSNet's PReLU, which has no int8 kernel in
  litert-torch's quantizer (see ``models.nets.specknet``).
- Attention runs per scale (global pooling is resolution-free, but one gate over both
  scales would need the two branches concatenated first); each scale gets its own module.
- No RepVGG form: the branches of a gOctConv are already several convs per scale.
"""

from __future__ import annotations

import torch
from torch import nn

from .create_act import ActLayer
from .create_attn import AttnLayer, create_attn
from .create_norm import NormLayer
from .goctconv import GOctConvCBR, split_channels


class OctInvertedResidual(nn.Module):
    """gOctConv expand (1 -> 2 scales) -> per-scale depthwise -> attention -> gOctConv
    linear projection (2 -> 1 scale) (+ residual). Same constructor as ``InvertedResidual``
    plus ``low``, the low-frequency fraction of the hidden width."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand_ratio: float = 6.0,
                 kernel_size: int = 3, dilation: int = 1, attn: AttnLayer = None,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu6",
                 mid_ch: int | None = None, rep: bool = False, low: float = 0.5) -> None:
        super().__init__()
        if rep:
            raise ValueError("octave blocks have no RepVGG form (rep=True)")
        if not 0.0 < low < 1.0:
            raise ValueError(f"low must be in (0, 1), got {low}")
        mid = split_channels(mid_ch or round(in_ch * expand_ratio), (1.0 - low, low))
        self.use_residual = stride == 1 and in_ch == out_ch
        self.expand = GOctConvCBR(in_ch, mid, 1, norm=norm, act=act)
        self.dw = GOctConvCBR(mid, mid, kernel_size, stride=stride, dilation=dilation,
                              depthwise=True, norm=norm, act=act)
        self.attn = nn.ModuleList(create_attn(attn, c) for c in mid)
        self.project = GOctConvCBR(mid, [out_ch], 1, norm=norm, act=None)

    def cbrs(self) -> tuple[GOctConvCBR, GOctConvCBR]:
        """The gOctConv-CBRs with an activation (dynamic weight decay's targets)."""
        return self.expand, self.dw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        high, low = self.dw(self.expand([x]))  # (N, Ch, H', W'), (N, Cl, H'/2, W'/2)
        y = self.project([self.attn[0](high), self.attn[1](low)])[0]  # (N, out_ch, H', W')
        return x + y if self.use_residual else y
