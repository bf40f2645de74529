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

Sparse inference (``from_rows``) starts from the P sampled rows and a binary mask. For a
separable kernel K = f f^T (RBF, average pooling) it never forms a 2-D stencil: the rows are
scattered into a channels-last map, the vertical pass is one GEMM of a banded (B, B + k - 1)
block with every block of B + k - 1 padded rows (viewed in place, overlapping), the horizontal
pass is a depthwise 1 x k conv, and K * m is two (H, H) / (W, W) banded matmuls on the mask.
That equals the 2-D form up to float32 rounding (summation order).
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

    def from_rows(self, rows: torch.Tensor, positions: torch.Tensor,
                  mask: torch.Tensor) -> torch.Tensor:
        """Interpolate a binary-masked map given only its sampled rows.

        ``rows`` (P, C) are the feature at the flat ``positions`` (into N*H*W) where the binary
        ``mask`` (N, 1, H, W) is 1. Returns (N, C, H, W) in channels-last memory: the rows at
        the sampled positions, ``K*(F m) / (K*m + eps)`` elsewhere.
        """
        n, _, h, w = mask.shape
        factor = self.factor()
        if factor is None:
            return self.from_masked(_scatter(rows, positions, n, 0, h, w), mask)
        pad = self.size // 2
        block = min(_BLOCK, h)
        nb = -(-h // block)
        # rows per image in the stacked map: the data plus, between images, 2*pad zero rows
        # (rounded to whole blocks) so every block of B + 2*pad input rows is a uniform view
        stride = nb * block if n == 1 else (nb + -(-2 * pad // block)) * block
        stacked = _scatter(rows, positions, n, pad, h, w, stride)  # (N*R + 2p, W, C)
        num = _vertical_pass(stacked, _band(factor, block), n * stride // block)
        num = num.view(n, stride, w, -1)[:, :h].permute(0, 3, 1, 2)  # (N, C, H, W)
        c = num.shape[1]
        num = F.conv2d(num, factor.view(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous(),
                       padding=(0, pad), groups=c).contiguous(memory_format=torch.channels_last)
        den = _band(factor, h)[:, pad:pad + h] @ mask @ _band(factor, w)[:, pad:pad + w].T
        num.div_(den + self.eps)  # (N, 1, H, W) -> broadcast over channels
        num.permute(0, 2, 3, 1).view(-1, c).index_copy_(0, positions, rows)
        return num

    def _mask_conv(self, mask: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """K * m (N, 1, H, W); two 1-D passes when K is separable (about twice as fast)."""
        pad, factor = self.size // 2, self.factor()
        if factor is None:
            return F.conv2d(mask, k[None, None], padding=pad)
        rows = F.conv2d(mask, factor.view(1, 1, -1, 1), padding=(pad, 0))
        return F.conv2d(rows, factor.view(1, 1, 1, -1), padding=(0, pad))


_BLOCK = 8  # output rows per GEMM block of the vertical pass


def _band(factor: torch.Tensor, size: int) -> torch.Tensor:
    """(size, size + k - 1) banded matrix: row i holds ``factor`` at columns i .. i + k - 1."""
    k = factor.shape[0]
    band = factor.new_zeros(size, size + k - 1)
    band.as_strided((size, k), (size + k, 1)).copy_(factor.expand(size, k))
    return band


def _scatter(rows: torch.Tensor, positions: torch.Tensor, n: int, pad: int, h: int, w: int,
             stride: int | None = None) -> torch.Tensor:
    """Rows (P, C) at flat ``positions`` (into N*H*W) into a zero channels-last map whose image
    i holds its row y at row i*stride + y + pad: (N*stride + 2*pad, W, C) viewed as
    (N, C, H, W) when stride = H and pad = 0."""
    stride = h if stride is None else stride
    c = rows.shape[1]
    index = positions if n == 1 else positions + positions // (h * w) * ((stride - h) * w)
    out = rows.new_zeros(n * stride + 2 * pad, w, c)  # (N*R + 2p, W, C)
    out.view(-1, c).index_copy_(0, index + pad * w, rows)
    if pad == 0 and stride == h:
        return out.view(n, h, w, c).permute(0, 3, 1, 2)  # (N, C, H, W)
    return out


def _vertical_pass(stacked: torch.Tensor, band: torch.Tensor, blocks: int) -> torch.Tensor:
    """``band`` (B, B + k - 1) times every overlapping block of B + k - 1 rows of ``stacked``
    (rows, W, C), blocks B rows apart -> (blocks * B, W, C)."""
    b, span = band.shape
    _, w, c = stacked.shape
    windows = stacked.as_strided((blocks, span, w * c), (b * w * c, w * c, 1))
    return torch.matmul(band, windows).view(blocks * b, w, c)  # (blocks*B, W, C)


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
