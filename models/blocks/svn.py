"""SVN, the reduced non-local module of LRNNet (Jiang et al., "LRNNet: A Light-Weighted Network
with Efficient Reduced Non-Local Operation for Real-Time Semantic Segmentation",
arXiv 2006.02706, Sec. 3).

Two 1x1 convs reduce C to C' (one gives the queries, one the map the keys come from). The
C' x H x W key map is split into sub-regions; each region, flattened to C' x (H'W'), is
summarised by its dominant left singular vector (C' x 1), found by power iteration. The
vectors of an 8x8 and a 4x4 grid of regions (64 + 16 = S vectors) are both the keys and the
values of a non-local attention whose queries are the per-position features:
``y = softmax(Q K^T) K`` over the S keys, then a 1x1 conv back to C and a residual add.

Choices where the paper is silent:
- Regions tile the map exactly: a reshape/permute turns the map into a batch of
  (N * S_g, C', H'W') matrices and the power iteration runs batched over images and regions
  with bmm (fixed iteration count, static shapes; every op lowers to XNNPACK). When H or W is
  not a multiple of every grid (their lcm, 8 by default) the key map is first resized
  bilinearly *up* to the next multiple, so no region is empty or dropped (e.g. a 12x12 map
  becomes 16x16: 2x2 regions on the 8x8 grid). LRNNet's 1/8 map is 64x128 at 512x1024 and
  8x8 at 64x64 (1x1 regions on the 8x8 grid: each vector is that position's feature,
  normalized), so no resize happens at those sizes.
- Power iteration ``u <- M M^T u / ||M M^T u||`` starts from the region's sum column
  ``M 1`` and runs ``num_iters`` (default 3) times; ``||.||`` is ``sqrt(sum(u^2) + eps)``.
- Sign: keys and values are not sign-invariant, so the sign is fixed by the start vector:
  every iterate satisfies ``u . M1 >= 0`` (``M M^T`` is positive semi-definite), i.e. the
  vector points towards the region's mean feature. The key conv ends in ReLU, so ``M >= 0``:
  by Perron-Frobenius its dominant left singular vector is non-negative, which is the one
  the iteration converges to (the start ``M 1 >= 0`` is not orthogonal to it unless the
  region is all zero, in which case the vector is 0).
- Query conv: conv -> norm, no activation (as the non-local block's theta); output conv:
  conv -> norm, no activation, added to the input. The attention logits are not scaled (keys
  are unit vectors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer
from .create_norm import NormLayer


def _normalize(u: torch.Tensor, eps: float) -> torch.Tensor:
    """u / sqrt(sum(u^2) + eps) over C of (B, C, 1)."""
    b, c, _ = u.shape
    # NOTE: the sum over C is a mean over the last two dims of a 4-D view (times C), the
    # reduction the XNNPACK partitioner delegates.
    sq = (u * u).reshape(b, 1, c, 1).mean((-2, -1), keepdim=True) * float(c)  # (B, 1, 1, 1)
    return u / torch.sqrt(sq.reshape(b, 1, 1) + eps)


def dominant_left_singular_vector(m: torch.Tensor, num_iters: int = 3,
                                  eps: float = 1e-6) -> torch.Tensor:
    """Top left singular vector of each (C, L) matrix M in ``m`` (B, C, L) -> (B, C).

    Power iteration ``u <- M M^T u`` from ``u = M 1`` (the sum of the columns), so the result
    is a unit vector with ``u . M1 >= 0`` and does not depend on the order of the columns.
    """
    b, c, length = m.shape
    mt = m.transpose(1, 2)  # (B, L, C)
    # NOTE: python floats, not ints, as scalars: an int scalar becomes an int64 constant and a
    # cast that XNNPACK does not take.
    col_mean = m.reshape(b, c, 1, length).mean((-2, -1), keepdim=True)  # (B, C, 1, 1)
    u = _normalize(col_mean.reshape(b, c, 1) * float(length), eps)  # (B, C, 1): M 1
    for _ in range(num_iters):
        u = _normalize(torch.bmm(m, torch.bmm(mt, u)), eps)  # (B, C, 1): M (M^T u)
    return u.reshape(b, c)


def region_matrices(x: torch.Tensor, grid: int) -> torch.Tensor:
    """Split (N, C, H, W) into grid x grid regions (H, W divisible by grid), each flattened:
    (N * grid^2, C, H/grid * W/grid), regions in row-major order per image."""
    n, c, h, w = x.shape
    bh, bw = h // grid, w // grid
    x = x.reshape(n, c, grid, bh, grid, bw)  # (N, C, g, H/g, g, W/g)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (N, g, g, C, H/g, W/g)
    return x.reshape(n * grid * grid, c, bh * bw)  # (N*S, C, H'W')


def _fit_to_grid(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Bilinearly resize H, W up to the next multiple of ``multiple`` (no-op if divisible)."""
    h, w = x.shape[-2:]
    size = (-(-h // multiple) * multiple, -(-w // multiple) * multiple)
    if size == (h, w):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class SVN(nn.Module):
    def __init__(self, channels: int, reduced_channels: int = 32,
                 grids: Sequence[int] = (8, 4), num_iters: int = 3, eps: float = 1e-6,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu") -> None:
        super().__init__()
        self.grids = tuple(grids)
        self.num_iters = num_iters
        self.eps = eps
        self.query = ConvNormAct(channels, reduced_channels, 1, norm=norm, act=None)
        self.key = ConvNormAct(channels, reduced_channels, 1, norm=norm, act=act)
        self.proj = ConvNormAct(reduced_channels, channels, 1, norm=norm, act=None)

    def region_vectors(self, k: torch.Tensor) -> torch.Tensor:
        """Dominant singular vectors of every region of every grid: (N, C', H, W) ->
        (N, S, C'), grids in order, regions row-major."""
        n, c = k.shape[:2]
        k = _fit_to_grid(k, math.lcm(*self.grids))
        vectors = [dominant_left_singular_vector(region_matrices(k, g), self.num_iters,
                                                 self.eps).reshape(n, g * g, c)
                   for g in self.grids]  # (N, g*g, C') each
        return torch.cat(vectors, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        # NOTE: queries and output are flattened channels-last (permute, then reshape): with
        # flatten(2).transpose(1, 2), litert-torch (0.10) fed the (N, C', HW) map to the
        # FULLY_CONNECTED it made of the first bmm, which TFLite refuses unless HW == C'
        # (LRNNet at 64 px, where the graph came out right).
        q = self.query(x).permute(0, 2, 3, 1).reshape(n, h * w, -1)  # (N, HW, C')
        kv = self.region_vectors(self.key(x))  # (N, S, C')
        attn = torch.softmax(torch.bmm(q, kv.transpose(1, 2)), dim=-1)  # (N, HW, S)
        y = torch.bmm(attn, kv).reshape(n, h, w, -1).permute(0, 3, 1, 2)  # (N, C', H, W)
        return x + self.proj(y)
