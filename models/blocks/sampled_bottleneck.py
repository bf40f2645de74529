"""Residual bottleneck with stochastic feature sampling and interpolation (Xie et al.,
"Spatially Adaptive Inference with Stochastic Feature Sampling and Interpolation", ECCV 2020,
arXiv 2003.08866, Sec. 3.4; the authors' ``SparseResNet`` ``Bottleneck``).

Two ``SamplingModule`` s read the block input x: mask1 (input size) selects where conv1 (1x1)
is computed, mask2 (output size) where conv2 (3x3, carries the stride) is computed; conv3
(1x1) shares mask2. Each masked output is reconstructed by interpolation; the identity path
(or its 1x1 projection) is untouched. After every forward ``block.sparsity`` holds
``0.25 * mean(p1) + 0.75 * mean(p2)``; ``sparsity_loss(collect_sparsity(model), weight)``
gives the training penalty.

Training runs densely with relaxed masks (as the authors do). Inference gathers, computes and
scatters only sampled positions: conv2's sampled rows go straight through conv3 (one more
GEMM, no scatter in between) and are interpolated once, at conv3's width. Because the
interpolation is linear in the feature and conv3 -> BN3 is affine, this equals the authors'
"interpolate, then dense conv3" exactly when conv3's bias / BN shift is added after the
interpolation, which is what the sparse path does.

Choices where the paper is silent:
- The sampling convs see the block input, as in the authors' code (not conv1's output).
- Expansion 4, stride on conv2 ("pytorch" style), projection shortcut = 1x1 conv + norm.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer, create_act
from .create_norm import NormLayer
from .sampled_conv import SampledConv, fold_conv_norm, rows_matmul, sample_positions, scatter_rows
from .sampling import SamplingModule, block_sparsity


class SampledBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1, norm: NormLayer = "batchnorm",
                 act: ActLayer = "relu", grid_interval: int | None = 11,
                 interpolation: str = "rbf", interp_size: int = 7) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        self.sampler1 = SamplingModule(in_ch, 1, grid_interval=grid_interval)
        self.sampler2 = SamplingModule(in_ch, stride, grid_interval=grid_interval)
        self.conv1 = SampledConv(in_ch, planes, 1, norm=norm, act=act,
                                 interpolation=interpolation, interp_size=interp_size)
        self.conv2 = SampledConv(planes, planes, 3, stride, norm=norm, act=act,
                                 interpolation=interpolation, interp_size=interp_size)
        self.conv3 = ConvNormAct(planes, out_ch, 1, norm=norm, act=None)
        self.shortcut = (ConvNormAct(in_ch, out_ch, 1, stride, norm=norm, act=None)
                         if stride != 1 or in_ch != out_ch else nn.Identity())
        self.act = create_act(act, out_ch)
        self.sparsity: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask1, prob1 = self.sampler1(x)  # (N, 1, H, W)
        mask2, prob2 = self.sampler2(x)  # (N, 1, H', W')
        self.sparsity = block_sparsity(prob1, prob2)
        if self.training:
            out = self.conv3(self.conv2(self.conv1(x, mask1), mask2))
        else:
            out = self._conv23_sparse(self.conv1.forward_sparse(x, mask1), mask2)
        return self.act(out + self.shortcut(x))

    def _conv23_sparse(self, out1: torch.Tensor, mask2: torch.Tensor) -> torch.Tensor:
        keep = mask2 >= 0.5  # (N, 1, H', W')
        positions = sample_positions(keep)
        rows2 = self.conv2.rows(out1, positions)  # (P, planes)
        weight3, bias3 = fold_conv_norm(self.conv3.conv, self.conv3.bn)
        rows3 = rows_matmul(rows2, weight3)  # (P, out_ch), bias added after interpolation
        masked = scatter_rows(rows3, positions, out1.shape[0], *keep.shape[-2:])
        out = self.conv2.interp.from_masked(masked, keep.to(out1.dtype))
        return out + bias3[:, None, None]


def collect_sparsity(model: nn.Module) -> list[torch.Tensor]:
    """The ``sparsity`` term of every ``SampledBottleneck`` run in the last forward."""
    return [m.sparsity for m in model.modules()
            if isinstance(m, SampledBottleneck) and m.sparsity is not None]
