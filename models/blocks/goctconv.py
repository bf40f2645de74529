"""Generalised Octave Convolution (gOctConv), gOctConv-CBR and the ILBlock (Cheng et al.,
"Highly Efficient Salient Object Detection with 100K Parameters", ECCV 2020, arXiv 2003.05643,
Sec. 3.1-3.2, Fig. 3).

gOctConv maps a *list* of feature maps (one per scale; scale i runs at 1/2^i of the block's
base resolution) to another list, with per-scale channel counts given explicitly or as
fractions ``alpha`` of a total. Path i -> j:

- i == j: conv;
- i > j (coarser input): conv at the input's resolution, then bilinear upsample by 2^(i-j);
- i < j (finer input): max-pool by 2^(j-i), then conv.

Paths into the same output scale are summed. ``stride=2`` average-pools every input branch by
2 first. ``cross_scale=False`` keeps the same-scale paths only; ``depthwise=True`` makes them
depthwise (the paper's "simplified gOctConv", per-scale depthwise 3x3).

Choices where the paper is silent (taken from the authors' released code unless noted):
- Channel split of a total by fractions: boundaries at ``round(total * cumsum(alpha))``.
- Bilinear upsampling with ``align_corners=False``; the output size of scale j is the
  scale-0 size (after the stride) halved j times with floor, so odd sizes stay consistent.
- One ``nn.Conv2d`` per path (the authors slice one big weight; the parameter count is the
  same whenever all cross-scale paths are on). A bias, if asked for, lives on the first path
  into each output scale, so an output scale gets one bias.
- ILBlock: 3x3 first conv when ``stride == 2`` or ``first`` (the network's stem); the first
  block of the full-resolution stage 1 uses 1x1, as in the authors' code.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .create_act import ActLayer, create_act
from .create_norm import NormLayer, create_norm

Channels = int | Sequence[int]


def split_channels(channels: Channels, alpha: Sequence[float] | None = None) -> list[int]:
    """Per-scale channel counts: an explicit list is returned as is; an int total is split by
    the fractions ``alpha`` (default one scale) at ``round(total * cumsum(alpha))``."""
    if not isinstance(channels, int):
        return [int(c) for c in channels]
    alpha = (1.0,) if alpha is None else alpha
    cuts = [0, *(round(channels * a) for a in itertools.accumulate(alpha))]
    return [b - a for a, b in itertools.pairwise(cuts)]


def _scale_sizes(x0: torch.Tensor, scales: int) -> list[tuple[int, int]]:
    h, w = x0.shape[-2:]
    return [(h >> j, w >> j) for j in range(scales)]


class GOctConv(nn.Module):
    """Multi-scale conv: ``list[Tensor]`` (one per input scale) -> ``list[Tensor]`` (one per
    output scale). With one scale in and out it is exactly an ``nn.Conv2d``."""

    def __init__(self, in_channels: Channels, out_channels: Channels, kernel_size: int = 1,
                 alpha_in: Sequence[float] | None = None,
                 alpha_out: Sequence[float] | None = None, stride: int = 1,
                 dilation: int = 1, depthwise: bool = False, cross_scale: bool = True,
                 bias: bool = False) -> None:
        super().__init__()
        self.in_channels = split_channels(in_channels, alpha_in)
        self.out_channels = split_channels(out_channels, alpha_out)
        if min(self.in_channels + self.out_channels) < 1:
            raise ValueError(f"every scale needs channels: {self.in_channels} -> "
                             f"{self.out_channels}")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if depthwise and self.in_channels != self.out_channels:
            raise ValueError("depthwise gOctConv needs equal per-scale channels in and out")
        self.stride = stride
        self.cross_scale = cross_scale and not depthwise
        self.paths: list[tuple[int, int]] = [
            (i, j) for j in range(len(self.out_channels)) for i in range(len(self.in_channels))
            if self.cross_scale or i == j]
        if not {j for _, j in self.paths} >= set(range(len(self.out_channels))):
            raise ValueError("an output scale receives no path (turn cross_scale on)")
        padding = dilation * (kernel_size - 1) // 2
        self.convs = nn.ModuleDict()
        biased: set[int] = set()
        for i, j in self.paths:
            cin, cout = self.in_channels[i], self.out_channels[j]
            self.convs[f"{i}to{j}"] = nn.Conv2d(
                cin, cout, kernel_size, padding=padding, dilation=dilation,
                groups=cin if depthwise else 1, bias=bias and j not in biased)
            biased.add(j)

    def forward(self, xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        if len(xs) != len(self.in_channels):
            raise ValueError(f"expected {len(self.in_channels)} scales, got {len(xs)}")
        if self.stride == 2:
            xs = [F.avg_pool2d(x, 2, 2) for x in xs]
        sizes = _scale_sizes(xs[0], len(self.out_channels))
        parts: list[list[torch.Tensor]] = [[] for _ in self.out_channels]
        for i, j in self.paths:
            x = xs[i]
            if i < j:
                x = F.max_pool2d(x, 2 ** (j - i), 2 ** (j - i))  # (N, C_i, H_j, W_j)
            y = self.convs[f"{i}to{j}"](x)
            if i > j:
                y = F.interpolate(y, size=sizes[j], mode="bilinear", align_corners=False)
            parts[j].append(y)  # (N, C_j, H_j, W_j)
        return [sum(ys[1:], ys[0]) for ys in parts]  # every scale has a path (checked)


class GOctConvCBR(nn.Module):
    """gOctConv -> BatchNorm -> PReLU, with a norm and an activation per output scale."""

    def __init__(self, in_channels: Channels, out_channels: Channels, kernel_size: int = 1,
                 alpha_in: Sequence[float] | None = None,
                 alpha_out: Sequence[float] | None = None, stride: int = 1,
                 dilation: int = 1, depthwise: bool = False, cross_scale: bool = True,
                 norm: NormLayer = "batchnorm", act: ActLayer = "prelu") -> None:
        super().__init__()
        self.conv = GOctConv(in_channels, out_channels, kernel_size, alpha_in, alpha_out,
                             stride, dilation, depthwise, cross_scale,
                             bias=norm is None or norm == "none")
        self.out_channels = self.conv.out_channels
        self.bns = nn.ModuleList(create_norm(norm, c) for c in self.out_channels)
        self.acts = nn.ModuleList(create_act(act, c) for c in self.out_channels)

    def forward(self, xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [act(bn(y)) for y, bn, act in zip(self.conv(xs), self.bns, self.acts,
                                                 strict=True)]


class ILBlock(nn.Module):
    """Inception-like block: gOctConv-CBR (1x1; 3x3 when strided or ``first``) -> per-scale
    depthwise 3x3 CBR -> per-scale depthwise 3x3 CBR. No residual."""

    def __init__(self, in_channels: Channels, out_channels: Channels,
                 alpha_in: Sequence[float] | None = None,
                 alpha_out: Sequence[float] | None = None, stride: int = 1,
                 first: bool = False, norm: NormLayer = "batchnorm",
                 act: ActLayer = "prelu") -> None:
        super().__init__()
        k = 3 if first or stride == 2 else 1
        self.conv1 = GOctConvCBR(in_channels, out_channels, k, alpha_in, alpha_out, stride,
                                 norm=norm, act=act)
        self.out_channels = self.conv1.out_channels
        self.dw1 = GOctConvCBR(self.out_channels, self.out_channels, 3, depthwise=True,
                               norm=norm, act=act)
        self.dw2 = GOctConvCBR(self.out_channels, self.out_channels, 3, depthwise=True,
                               norm=norm, act=act)

    def cbrs(self) -> tuple[GOctConvCBR, GOctConvCBR, GOctConvCBR]:
        """The block's three gOctConv-CBRs in order (the first decides the pruning mask)."""
        return self.conv1, self.dw1, self.dw2

    def forward(self, xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return self.dw2(self.dw1(self.conv1(xs)))
