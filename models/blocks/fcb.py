"""Factorized Convolution Block, FCB (Jiang et al., "LRNNet: A Light-Weighted Network with
Efficient Reduced Non-Local Operation for Real-Time Semantic Segmentation", arXiv 2006.02706,
Sec. 3).

Layer order, from the paper's description (no public code exists):
split the channels in halves -> half A: 3x1 then 1x3 conv, half B: 1x3 then 3x1 conv (1-D
convs for short-range features) -> concat -> 2-D depthwise 3x3 conv, dilated for long range ->
1x1 conv -> residual add -> channel shuffle (2 groups).

Choices where the paper is silent (after LEDNet's SS-nbt unit, arXiv 1905.02423, which LRNNet
modifies):
- Each half: first 1-D conv (with bias) -> act, second 1-D conv -> norm -> act. The 1-D convs
  are not dilated: dilation lives only in the depthwise 3x3, the long-range part.
- The depthwise conv and the 1x1 conv each end in a norm with no activation between them (a
  linear depthwise-separable pair, as in Xception / MobileNetV2); the activation comes after
  the residual add, and the shuffle last. With ReLU and a non-negative input (the previous
  block's output), zeroing the last norm makes the block exactly ``channel_shuffle(x, 2)``.
- No dropout (LEDNet's SS-nbt has some; add it in the training recipe if wanted).
"""

from __future__ import annotations

import torch
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer, create_act
from .create_norm import NormLayer
from .shuffle import channel_shuffle


def _factorized_pair(channels: int, first: tuple[int, int], second: tuple[int, int],
                     norm: NormLayer, act: ActLayer) -> nn.Sequential:
    """1-D conv -> act -> 1-D conv -> norm -> act."""
    return nn.Sequential(
        ConvNormAct(channels, channels, first, norm=None, act=act),
        ConvNormAct(channels, channels, second, norm=norm, act=act),
    )


class FCB(nn.Module):
    def __init__(self, channels: int, dilation: int = 1, norm: NormLayer = "batchnorm",
                 act: ActLayer = "relu") -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"FCB splits channels in halves; got odd channels={channels}")
        half = self.half = channels // 2
        self.branch_a = _factorized_pair(half, (3, 1), (1, 3), norm, act)
        self.branch_b = _factorized_pair(half, (1, 3), (3, 1), norm, act)
        self.depthwise = ConvNormAct(channels, channels, 3, groups=channels, dilation=dilation,
                                     norm=norm, act=None)
        self.pointwise = ConvNormAct(channels, channels, 1, norm=norm, act=None)
        self.act = create_act(act, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x[:, :self.half], x[:, self.half:]  # (N, C/2, H, W) each
        y = torch.cat([self.branch_a(a), self.branch_b(b)], dim=1)  # (N, C, H, W)
        y = self.pointwise(self.depthwise(y))
        return channel_shuffle(self.act(x + y), 2)
