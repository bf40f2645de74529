"""Convolutional Block Attention Module (Woo et al., "CBAM", arXiv 1807.06521, Sec. 3).

Channel attention: a shared MLP (C -> C/r -> C) on the global average- and max-pooled
features, summed, then a gate. Spatial attention: channel-wise mean and max maps,
concatenated, a 7x7 conv, then a gate. Applied in that order (the paper's best, Sec. 4.1).

Choices for export (the paper is silent): the MLP is two 1x1 convs; global max is a
``max_pool2d`` over the whole (static) map; the channel-wise mean is a fixed 1x1 conv with
weights 1/C and the channel-wise max a ``max_pool2d`` with a (C, 1) window on a
(N, 1, C, H*W) view, so every op has an int8 XNNPACK / TFLite kernel (no reduce-max, no
mean over channels). ``reduction`` defaults to 16 as in the paper; the hidden width never
drops below 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .create_act import ActLayer, create_act


class ChannelAttention(nn.Module):
    def __init__(self, channels: int, reduction: int = 16, act: ActLayer = "relu",
                 gate: ActLayer = "sigmoid") -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = create_act(act, hidden)
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.gate = create_act(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = x.mean((2, 3), keepdim=True)  # (N, C, 1, 1)
        mx = F.max_pool2d(x, x.shape[-2:])  # (N, C, 1, 1)
        s = self.fc2(self.act(self.fc1(avg))) + self.fc2(self.act(self.fc1(mx)))
        return x * self.gate(s)


class SpatialAttention(nn.Module):
    def __init__(self, channels: int, kernel_size: int = 7, gate: ActLayer = "sigmoid") -> None:
        super().__init__()
        self.register_buffer("mean_weight", torch.full((1, channels, 1, 1), 1.0 / channels),
                             persistent=False)
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.gate = create_act(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        avg = F.conv2d(x, self.mean_weight)  # (N, 1, H, W)
        mx = F.max_pool2d(x.reshape(n, 1, c, h * w), (c, 1))  # (N, 1, 1, H*W)
        mx = mx.reshape(n, 1, h, w)  # (N, 1, H, W)
        return x * self.gate(self.conv(torch.cat([avg, mx], dim=1)))


class CBAM(nn.Module):
    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7,
                 act: ActLayer = "relu", gate: ActLayer = "sigmoid") -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction, act, gate)
        self.spatial = SpatialAttention(channels, kernel_size, gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))
