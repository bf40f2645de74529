"""Ghost module and Ghost bottleneck (Han et al., "GhostNet: More Features from Cheap
Operations", arXiv 1911.11907, Sec. 3.1-3.2, Fig. 2-3).

Ghost module: a primary 1x1 conv makes m = ceil(out/s) intrinsic maps, a cheap depthwise
d x d conv makes (s-1) "ghost" maps from each, the two are concatenated and sliced to ``out``
channels. Defaults s = 2, d = 3 (the paper's choice, Sec. 4.1). Parameters (with BatchNorm):
``in*m + 2m + d*d*m*(s-1) + 2m*(s-1)``.

Ghost bottleneck: Ghost module (expand, ReLU) -> depthwise kxk stride 2 (only when strided)
-> optional attention -> Ghost module (project, no activation) -> + shortcut. The shortcut is
identity, or depthwise kxk (stride) + 1x1 conv, both with BN, when shapes change (the
authors' released code; the paper only says "a downsampling layer").
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer
from .create_attn import AttnLayer, create_attn
from .create_norm import NormLayer


class GhostModule(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, ratio: int = 2, dw_size: int = 3,
                 stride: int = 1, norm: NormLayer = "batchnorm", act: ActLayer = "relu") -> None:
        super().__init__()
        self.out_ch = out_ch
        init_ch = math.ceil(out_ch / ratio)
        self.primary = ConvNormAct(in_ch, init_ch, 1, stride, norm=norm, act=act)
        self.cheap = ConvNormAct(init_ch, init_ch * (ratio - 1), dw_size, groups=init_ch,
                                 norm=norm, act=act)
        self.trim = init_ch * ratio != out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.primary(x)  # (N, m, H, W)
        y = torch.cat([y, self.cheap(y)], dim=1)  # (N, m*s, H, W)
        return y[:, :self.out_ch] if self.trim else y  # (N, out, H, W)


class GhostBottleneck(nn.Module):
    def __init__(self, in_ch: int, mid_ch: int, out_ch: int, stride: int = 1,
                 kernel_size: int = 3, attn: AttnLayer = None,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu") -> None:
        super().__init__()
        self.ghost1 = GhostModule(in_ch, mid_ch, norm=norm, act=act)
        self.dw = (ConvNormAct(mid_ch, mid_ch, kernel_size, stride, mid_ch, norm=norm, act=None)
                   if stride > 1 else nn.Identity())
        self.attn = create_attn(attn, mid_ch)
        self.ghost2 = GhostModule(mid_ch, out_ch, norm=norm, act=None)
        if stride == 1 and in_ch == out_ch:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                ConvNormAct(in_ch, in_ch, kernel_size, stride, in_ch, norm=norm, act=None),
                ConvNormAct(in_ch, out_ch, 1, norm=norm, act=None),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ghost2(self.attn(self.dw(self.ghost1(x))))
        return y + self.shortcut(x)
