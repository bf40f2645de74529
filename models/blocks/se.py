"""Squeeze-and-Excitation (Hu et al., "Squeeze-and-Excitation Networks", arXiv 1709.01507,
Sec. 3): global average pool -> FC (C -> C/r) -> ReLU -> FC (C/r -> C) -> gate -> rescale.

Choices where the paper is silent or its setting does not fit:
- The FCs are 1x1 convs on the (N, C, 1, 1) pooled tensor (same weights as FCs, no reshape).
- ``reduction`` defaults to 4 as in MobileNetV3 (arXiv 1905.02244); the paper's r=16 suits
  ResNet-50 widths, not a tiny detector's. The hidden width never drops below 1.
- The gate is any ``create_act`` name: ``"hardsigmoid"`` gives the int8-friendly MobileNetV3
  gate, ``"sigmoid"`` (default) the paper's.
"""

from __future__ import annotations

import torch
from torch import nn

from .create_act import ActLayer, create_act


class SE(nn.Module):
    def __init__(self, channels: int, reduction: int = 4, act: ActLayer = "relu",
                 gate: ActLayer = "sigmoid") -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = create_act(act, hidden)
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.gate = create_act(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)  # (N, C, 1, 1)
        return x * self.gate(self.fc2(self.act(self.fc1(s))))
