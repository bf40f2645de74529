"""Feature interpolation for sparsely sampled maps (Xie et al., "Spatially Adaptive Inference
with Stochastic Feature Sampling and Interpolation", ECCV 2020, arXiv 2003.08866, Sec. 3.2).

Given a feature map F and a sampling mask m (N, 1, H, W), unsampled positions are filled with
a normalised, kernel-weighted average of sampled neighbours:

    out = m * F + (1 - m) * [K * (F * m)] / (K * m + eps)

with one k x k kernel K per mask applied depthwise (the same K on every channel).

- ``RBFInterpolation`` (the paper's choice): K(d) = (s^2 / 2 pi) exp(-s^2 |d|^2 / 2) over the
  k x k offsets d, s a learnable scalar initialised to 3 (authors' code), k = 7.
- ``ConvInterpolation``: a learned k x k kernel, used through its absolute value.
- ``AvgPoolInterpolation``: K = 1 (the mean of the sampled neighbours in the window).

Choices where the paper is silent:
- ``ConvInterpolation`` starts from a uniform kernel (i.e. from average pooling).
- eps = 1e-5 (authors' code). A position with no sampled neighbour gets ~0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Interpolation(nn.Module):
    """Base class: subclasses define ``kernel()`` -> (k, k)."""

    def __init__(self, size: int = 7, eps: float = 1e-5) -> None:
        super().__init__()
        if size % 2 == 0:
            raise ValueError(f"interpolation kernel size must be odd, got {size}")
        self.size = size
        self.eps = eps

    def kernel(self) -> torch.Tensor:
        factor = self.factor()
        if factor is None:
            raise NotImplementedError
        return factor[:, None] * factor[None, :]  # (k, k)

    def factor(self) -> torch.Tensor | None:
        """f with K = f f^T when the kernel is separable, else None."""
        return None

    def forward(self, feature: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.from_masked(feature * mask, mask)

    def from_masked(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Interpolate from ``masked = F * m`` (the sparse path scatters straight into it).

        ``m * F + (1 - m) * K*(F m) / (K*m + eps)`` rewritten as
        ``F m + K*(F m) * [(1 - m) / (K*m + eps)]``: the bracket is one channel, so the
        C-channel work is one depthwise conv and one fused multiply-add.
        """
        c, pad = masked.shape[1], self.size // 2
        k = self.kernel()
        num = F.conv2d(masked, k.expand(c, 1, -1, -1).contiguous(), padding=pad, groups=c)
        return torch.addcmul(masked, num, (1 - mask) / (self._mask_conv(mask, k) + self.eps))

    def _mask_conv(self, mask: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """K * m (N, 1, H, W); two 1-D passes when K is separable (about twice as fast)."""
        pad, factor = self.size // 2, self.factor()
        if factor is None:
            return F.conv2d(mask, k[None, None], padding=pad)
        rows = F.conv2d(mask, factor.view(1, 1, -1, 1), padding=(pad, 0))
        return F.conv2d(rows, factor.view(1, 1, 1, -1), padding=(0, pad))


class RBFInterpolation(Interpolation):
    def __init__(self, size: int = 7, sigma: float = 3.0, eps: float = 1e-5) -> None:
        super().__init__(size, eps)
        self.sigma = nn.Parameter(torch.tensor(float(sigma)))
        r = torch.arange(size, dtype=torch.float32) - size // 2
        self.register_buffer("offset2", r**2, persistent=False)

    def factor(self) -> torch.Tensor:
        # K(dy, dx) = (s^2 / 2 pi) exp(-s^2 (dy^2 + dx^2) / 2) = f(dy) f(dx)
        return self.sigma.abs() / math.sqrt(2 * math.pi) * torch.exp(
            -0.5 * self.sigma**2 * self.offset2)  # (k,)


class ConvInterpolation(Interpolation):
    def __init__(self, size: int = 7, eps: float = 1e-5) -> None:
        super().__init__(size, eps)
        self.weight = nn.Parameter(torch.full((size, size), 1.0 / size**2))

    def kernel(self) -> torch.Tensor:
        return self.weight.abs()


class AvgPoolInterpolation(Interpolation):
    def __init__(self, size: int = 7, eps: float = 1e-5) -> None:
        super().__init__(size, eps)
        self.register_buffer("ones", torch.ones(size), persistent=False)

    def factor(self) -> torch.Tensor:
        return self.ones


_INTERPOLATIONS: dict[str, type[Interpolation]] = {
    "rbf": RBFInterpolation,
    "conv": ConvInterpolation,
    "avgpool": AvgPoolInterpolation,
}


def create_interpolation(name: str, size: int = 7) -> Interpolation:
    """``"rbf"`` (the paper's), ``"conv"`` or ``"avgpool"``."""
    if name not in _INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {name!r}; known: {sorted(_INTERPOLATIONS)}")
    return _INTERPOLATIONS[name](size)
