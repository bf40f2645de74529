"""CenterNet head (Zhou et al., "Objects as Points", arXiv 1904.07850, Sec. 3 and Sec. 4
"Implementation details"): three branches on one stride-4 feature -- a per-class centre
heatmap, the box size and the sub-cell centre offset.

The paper's branch is a 3x3 conv (256 channels) + ReLU + 1x1 conv; the heatmap's last bias is
-2.19 (a prior of 0.1, after RetinaNet, arXiv 1708.02002, Sec. 4.1).

Choices of ours:

- NOTE: each branch is light: depthwise 3x3 conv-norm-act, pointwise 1x1 conv-norm-act to
  ``head_channels``, then the 1x1 prediction conv (a MobileNet separable conv in place of the
  dense 3x3), since the head runs at stride 4, the largest map of the net.
- The prediction convs start with weights N(0, 0.01) and bias 0 (heatmap: the prior bias), so
  at initialisation the heatmap is about 0.1 everywhere and the regressions about 0.
- Outputs are returned as ``(heatmap, size, offset)``, the order of
  ``firmware_py.manifest.CenterNetDecode.outputs``; size channels are ``(w, h)`` and offset
  channels ``(x, y)`` (see ``models/losses/centernet.py`` for their units).
- In training mode the heatmap is logits (the focal loss takes logits, for numerical
  stability); in eval mode it is ``sigmoid``-applied, so exported graphs emit probabilities
  and their decode spec has ``heatmap_is_logits=False``. Size and offset are raw (linear).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..blocks.conv_bn_act import ConvNormAct
from ..blocks.create_act import ActLayer
from ..blocks.create_norm import NormLayer


class _Branch(nn.Sequential):
    def __init__(self, in_ch: int, mid_ch: int, out_ch: int, norm: NormLayer,
                 act: ActLayer) -> None:
        super().__init__()
        self.dw = ConvNormAct(in_ch, in_ch, 3, groups=in_ch, norm=norm, act=act)
        self.pw = ConvNormAct(in_ch, mid_ch, 1, norm=norm, act=act)
        self.pred = nn.Conv2d(mid_ch, out_ch, 1)


class CenterNetHead(nn.Module):
    """``(N, C, H, W)`` stride-4 feature -> ``(heatmap (N, K, H, W), size (N, 2, H, W),
    offset (N, 2, H, W))``; heatmap logits in training, probabilities in eval."""

    def __init__(self, in_channels: int, num_classes: int, head_channels: int | None = None,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu",
                 prior: float = 0.1) -> None:
        super().__init__()
        mid = head_channels or in_channels
        self.num_classes = num_classes
        self.heatmap = _Branch(in_channels, mid, num_classes, norm, act)
        self.size = _Branch(in_channels, mid, 2, norm, act)
        self.offset = _Branch(in_channels, mid, 2, norm, act)
        for branch in (self.heatmap, self.size, self.offset):
            nn.init.normal_(branch.pred.weight, std=0.01)
            nn.init.zeros_(branch.pred.bias)
        nn.init.constant_(self.heatmap.pred.bias, -math.log((1 - prior) / prior))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        heatmap = self.heatmap(x)
        if not self.training:
            heatmap = heatmap.sigmoid()
        return heatmap, self.size(x), self.offset(x)
