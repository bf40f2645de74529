"""Structural re-parameterisation of a kxk conv (Ding et al., "RepVGG: Making VGG-style ConvNets
Great Again", arXiv 2101.03697, Sec. 3.2-3.3, Fig. 4).

Training: three parallel branches, each ending in its own BatchNorm -- kxk conv-BN, 1x1 conv-BN
and (when the shapes allow: same channels, stride 1) an identity BN -- summed, then the
activation. Inference: every branch is linear, so each folds into a kxk kernel and a bias (BN
into the conv; the 1x1 kernel padded to the kxk centre; the identity as a centred one-hot
kernel) and the three add up to *one* kxk conv with bias. ``reparameterize()`` does that in
place; ``reparameterize_model`` does it for every such module of a net (timm's
``reparameterize_model`` habit), and the exporters call it (``export.prepare``), so exported
graphs hold single convs.

Choices of ours:
- NOTE: grouped and depthwise convs are allowed (the paper uses dense convs; MobileOne,
  arXiv 2206.04861, applies the same branches to depthwise convs): the 1x1 branch has the same
  groups, and the identity kernel is one-hot at each channel's own index inside its group.
- NOTE: dilation is allowed: the 1x1 and identity branches sit on the kxk kernel's centre
  tap, which a dilated kernel samples at the same pixel, so folding stays exact.
- Norm must be BatchNorm (a fold needs its statistics); the folded conv keeps ``stride``,
  ``dilation``, ``groups`` and the "same" padding of ``ConvNormAct``.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer, create_act


def _fold_bn(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of ``bn(conv(x))`` as one conv (BN in eval mode)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
    shift = bn.bias - bn.running_mean * scale
    if bias is not None:
        shift = shift + bias * scale
    return weight * scale[:, None, None, None], shift


class RepConvNormAct(nn.Module):
    """``act(BN(conv_kxk(x)) + BN(conv_1x1(x)) [+ BN(x)])``; after ``reparameterize()``,
    ``act(conv_kxk'(x))``. Same arguments and output shape as ``ConvNormAct``."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1, dilation: int = 1, norm: str = "batchnorm",
                 act: ActLayer = "relu") -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"RepConvNormAct needs an odd kernel, got {kernel_size}")
        if norm not in ("batchnorm", "bn", "batchnorm2d"):
            raise ValueError(f"RepConvNormAct folds BatchNorm only, got norm={norm!r}")
        self.kernel_size, self.stride, self.groups, self.dilation = (
            kernel_size, stride, groups, dilation)
        self.in_ch, self.out_ch = in_ch, out_ch
        self.conv_kxk = ConvNormAct(in_ch, out_ch, kernel_size, stride, groups, dilation,
                                    norm, act=None)
        self.conv_1x1 = ConvNormAct(in_ch, out_ch, 1, stride, groups, norm=norm, act=None)
        self.identity = nn.BatchNorm2d(out_ch) if in_ch == out_ch and stride == 1 else None
        self.act = create_act(act, out_ch)
        self.reparam: nn.Conv2d | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.reparam is not None:
            return self.act(self.reparam(x))
        y = self.conv_kxk(x) + self.conv_1x1(x)
        if self.identity is not None:
            y = y + self.identity(x)
        return self.act(y)

    def _identity_kernel(self) -> torch.Tensor:
        """``(C_out, C_in / groups, k, k)`` one-hot at each channel's centre tap."""
        per_group = self.in_ch // self.groups
        kernel = self.conv_kxk.conv.weight.new_zeros(self.conv_kxk.conv.weight.shape)
        centre = self.kernel_size // 2
        channels = torch.arange(self.out_ch)
        kernel[channels, channels % per_group, centre, centre] = 1.0
        return kernel

    @torch.no_grad()
    def fused_kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel ``(C_out, C_in / groups, k, k)`` and bias ``(C_out,)`` of the folded conv."""
        kernel, bias = _fold_bn(self.conv_kxk.conv.weight, self.conv_kxk.conv.bias,
                                self.conv_kxk.bn)
        k1, b1 = _fold_bn(self.conv_1x1.conv.weight, self.conv_1x1.conv.bias, self.conv_1x1.bn)
        pad = self.kernel_size // 2
        kernel = kernel + nn.functional.pad(k1, (pad, pad, pad, pad))
        bias = bias + b1
        if self.identity is not None:
            ki, bi = _fold_bn(self._identity_kernel(), None, self.identity)
            kernel, bias = kernel + ki, bias + bi
        return kernel, bias

    def reparameterize(self) -> None:
        """Replace the branches by one kxk conv with bias, in place (idempotent)."""
        if self.reparam is not None:
            return
        kernel, bias = self.fused_kernel()
        src = self.conv_kxk.conv
        conv = nn.Conv2d(self.in_ch, self.out_ch, self.kernel_size, self.stride, src.padding,
                         self.dilation, self.groups, bias=True).to(kernel)
        conv.weight.data.copy_(kernel)
        conv.bias.data.copy_(bias)
        self.reparam = conv
        del self.conv_kxk, self.conv_1x1, self.identity
        self.identity = None


def reparameterize_model(model: nn.Module) -> nn.Module:
    """Fold every re-parameterisable module of ``model`` in place; returns ``model``."""
    for module in [m for m in model.modules() if isinstance(m, RepConvNormAct)]:
        module.reparameterize()
    return model


def has_branches(model: nn.Module) -> bool:
    """Whether ``model`` holds a module not yet folded."""
    return any(isinstance(m, RepConvNormAct) and m.reparam is None for m in model.modules())
