"""Sampled convolution: compute a conv only where a mask samples, interpolate the rest (Xie et
al., "Spatially Adaptive Inference with Stochastic Feature Sampling and Interpolation",
ECCV 2020, arXiv 2003.08866, Sec. 3).

Training runs densely with the relaxed mask, as the authors do:
``interp(act(norm(conv(x))), m)``. Inference really skips the unsampled positions:

1. ``sample_positions``: flat indices (into N*H'*W') where the binary mask is 1;
2. ``gather_windows``: the k x k window of every sampled output position, read from the
   zero-padded channels-last input by index arithmetic (window origin + k*k tap offsets),
   never unfolding the whole map -> (P, k*k*C);
3. ``rows_matmul``: one GEMM with the reshaped weight (eval-mode BatchNorm folded in), then
   the activation on the P rows -> (P, Cout);
4. ``Interpolation.from_rows`` scatters the rows and fills the unsampled positions (two 1-D
   passes for the separable RBF kernel; ``scatter_rows`` + ``from_masked`` otherwise).

Cost therefore falls with the sampled fraction; the interpolation (a depthwise k x k conv) is
the part that stays dense.

Choices where the paper is silent:
- The interpolation comes after the activation (as in the authors' code, which reconstructs
  the conv -> BN -> ReLU output).
- The mask is passed in (``forward(x, mask)``), so one ``SamplingModule`` on a block's input
  can drive convs deeper in the block; it has the conv's output size.
- Only ``groups=1``; eval-mode norms must be affine per channel (BatchNorm or identity).
- With autograd off, the folded (weight, bias) is cached and reused while the conv and norm
  tensors are unchanged (same storage and version counter), as a deployed layer would fold once.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .create_act import ActLayer, create_act
from .create_norm import NormLayer, create_norm
from .interpolation import create_interpolation


def sample_positions(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices (into N*H*W) of the positions where ``mask`` (N, 1, H, W) >= 0.5."""
    keep = mask if mask.dtype == torch.bool else mask >= 0.5
    return keep.reshape(-1).nonzero().squeeze(1)  # (P,)


def norm_affine(norm: nn.Module, channels: int,
                like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) of an eval-mode per-channel norm: ``norm(y) = y * scale + shift``."""
    if isinstance(norm, nn.Identity):
        return like.new_ones(channels), like.new_zeros(channels)
    if isinstance(norm, nn.modules.batchnorm._BatchNorm) and norm.running_var is not None:
        scale = torch.rsqrt(norm.running_var + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight
        shift = -norm.running_mean * scale
        if norm.bias is not None:
            shift = shift + norm.bias
        return scale, shift
    raise TypeError(f"sparse inference needs BatchNorm (running stats) or identity, got {norm}")


def fold_conv_norm(conv: nn.Conv2d, norm: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight (Cout, kh*kw*Cin) in window order (ky, kx, cin) and bias, with ``norm`` folded."""
    cout = conv.out_channels
    weight = conv.weight.permute(0, 2, 3, 1).reshape(cout, -1)  # (Cout, kh*kw*Cin)
    bias = conv.bias if conv.bias is not None else weight.new_zeros(cout)
    scale, shift = norm_affine(norm, cout, weight)
    return weight * scale[:, None], bias * scale + shift


@functools.lru_cache(maxsize=32)
def window_index_table(n: int, h: int, w: int, kernel_size: int, stride: int, dilation: int,
                       padding: int, device: torch.device) -> torch.Tensor:
    """Row of every window tap in the flattened zero-padded channels-last input (N*Hp*Wp, C),
    for every output position: (N*H'*W', k*k). Computed once per shape and cached."""
    hp, wp = h + 2 * padding, w + 2 * padding
    ho = (hp - dilation * (kernel_size - 1) - 1) // stride + 1
    wo = (wp - dilation * (kernel_size - 1) - 1) // stride + 1
    image = torch.arange(n, device=device)[:, None, None] * (hp * wp)
    oy = torch.arange(ho, device=device)[None, :, None] * (stride * wp)
    ox = torch.arange(wo, device=device)[None, None, :] * stride
    origin = (image + oy + ox).reshape(-1)  # (N*H'*W',) top-left tap of each window
    taps = torch.arange(kernel_size, device=device) * dilation
    offsets = (taps[:, None] * wp + taps[None, :]).reshape(-1)  # (k*k,)
    return origin[:, None] + offsets  # (N*H'*W', k*k)


def gather_windows(x: torch.Tensor, positions: torch.Tensor, kernel_size: int, stride: int = 1,
                   dilation: int = 1, padding: int = 0) -> torch.Tensor:
    """The k x k input window of each sampled output position -> (P, k*k*C), (ky, kx, c)."""
    n, c, h, w = x.shape
    padded = x.new_zeros(n, h + 2 * padding, w + 2 * padding, c)  # (N, Hp, Wp, C)
    padded[:, padding:padding + h, padding:padding + w] = x.permute(0, 2, 3, 1)
    table = window_index_table(n, h, w, kernel_size, stride, dilation, padding, x.device)
    cols = F.embedding(table[positions], padded.view(-1, c))  # (P, k*k, C)
    return cols.reshape(len(positions), kernel_size**2 * c)  # (P, k*k*C)


def rows_matmul(cols: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor | None = None) -> torch.Tensor:
    """``cols @ weight.T + bias`` for cols (P, K), weight (Cout, K) -> (P, Cout)."""
    p, k = cols.shape
    if p == 0:
        return cols.new_zeros(0, weight.shape[0])
    # NOTE: run as a 1x1 conv over the channels-last view (1, K, P, 1): the same GEMM, which
    # oneDNN does ~25% faster than torch.addmm at these shapes on CPU.
    out = F.conv2d(cols.view(1, p, 1, k).permute(0, 3, 1, 2), weight[:, :, None, None], bias)
    return out.permute(0, 2, 3, 1).reshape(p, -1)  # (P, Cout)


def scatter_rows(rows: torch.Tensor, positions: torch.Tensor, n: int, h: int,
                 w: int) -> torch.Tensor:
    """Rows (P, C) into a zero (N, C, H, W) map (channels-last memory) at ``positions``."""
    out = rows.new_zeros(n * h * w, rows.shape[1]).index_copy_(0, positions, rows)  # (N*H*W, C)
    return out.view(n, h, w, -1).permute(0, 3, 1, 2)  # (N, C, H, W)


class SampledConv(nn.Module):
    """Conv -> norm -> act computed at the positions a mask samples, interpolated elsewhere."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1,
                 dilation: int = 1, norm: NormLayer = "batchnorm", act: ActLayer = "relu",
                 interpolation: str = "rbf", interp_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride,
                              dilation * (kernel_size - 1) // 2, dilation,
                              bias=norm is None or norm == "none")
        self.bn = create_norm(norm, out_ch)
        self.act = create_act(act, out_ch)
        self.interp = create_interpolation(interpolation, interp_size)
        self._folded: tuple[tuple, tuple[torch.Tensor, torch.Tensor]] | None = None

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``fold_conv_norm(conv, bn)``, cached while autograd is off and nothing changed."""
        tensors = [*self.conv.parameters(), *self.bn.parameters(), *self.bn.buffers()]
        if torch.is_grad_enabled() or any(t.is_inference() for t in tensors):
            return fold_conv_norm(self.conv, self.bn)  # no version counter to watch
        key = (torch.is_inference_mode_enabled(), *((t.data_ptr(), t._version) for t in tensors))
        if self._folded is None or self._folded[0] != key:
            self._folded = (key, fold_conv_norm(self.conv, self.bn))
        return self._folded[1]

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        (k, _), (s, _) = self.conv.kernel_size, self.conv.stride
        d, p = self.conv.dilation[0], self.conv.padding[0]
        return (h + 2 * p - d * (k - 1) - 1) // s + 1, (w + 2 * p - d * (k - 1) - 1) // s + 1

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if mask.shape[-2:] != self.out_size(*x.shape[-2:]):
            raise ValueError(f"mask {tuple(mask.shape)} does not match the conv output size "
                             f"{self.out_size(*x.shape[-2:])}")
        if self.training:
            return self.interp(self.act(self.bn(self.conv(x))), mask)
        return self.forward_sparse(x, mask)

    def forward_sparse(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask >= 0.5  # (N, 1, H', W')
        positions = sample_positions(keep)
        ho, wo = keep.shape[-2:]
        rows = self.rows(x, positions)  # (P, Cout)
        return self.interp.from_rows(rows, positions, keep.to(x.dtype))

    def rows(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """act(norm(conv(x))) at the flat output ``positions`` only -> (P, Cout)."""
        weight, bias = self.folded()
        cols = gather_windows(x, positions, self.conv.kernel_size[0],
                              self.conv.stride[0], self.conv.dilation[0], self.conv.padding[0])
        return self.act(rows_matmul(cols, weight, bias))
