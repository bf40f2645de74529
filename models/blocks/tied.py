"""Tied Block Convolution and its relatives (Wang & Yu, "Tied Block Convolution: Leaner and
Better CNNs with Shared Thinner Filters", AAAI 2021, arXiv 2009.12021).

- ``TBC`` (Sec. 3): the C input channels are split into B equal blocks and the *same* thin
  filter bank W' (Cout/B x C/B x k x k) is applied to every block; the B responses are
  concatenated. Parameters drop B^2-fold and compute B-fold against a standard conv. The
  blocks are folded into the batch so the whole layer is one conv call:
  ``(N, C, H, W) -> (N*B, C/B, H, W) -> conv -> (N*B, Cout/B, H', W') -> (N, Cout, H', W')``.
- ``TGC``: the same around a group conv.
- ``TFC``: the same for fully connected layers.
- ``TiedConvNormAct``: a TBC (or TGC) -> norm -> act unit, ``ConvNormAct``'s layout
  (``conv``, ``bn``, ``act``), so nets can put tied convs where they had conv units.
- ``untie_model``: the export form. A TBC computes exactly a B*G-group conv whose every group
  holds the one thin filter bank; exporters get that conv (``export.prepare``), since the
  batch fold is a transpose in channels-last runtimes and litert-torch's layout pass refuses
  it once quantized (issue 15's Pareto note).
- ``TiedSE``: squeeze-excitation whose two FCs are TFCs.
- ``TiedBottleneck`` (TiedResNet): entry 1x1 TBC (B=2), a 3x3 stage split into s
  splits with per-split B, a mixer that sums the split outputs, exit 1x1 standard conv,
  residual.

Choices where the paper is silent:
- TGC keeps block-major channel order (block b owns channels [b*C/B, (b+1)*C/B), the G groups
  sit inside each block), so it folds into the batch exactly like TBC with no transposes.
- ``TiedSplitMixer`` gives each split an equal *slice* of the input channels and lets every
  split produce all ``out_ch`` channels, so the mixer's element-wise sum needs no concat.
  With splits (1, 2, 4, 8) a ResNet-50 bottleneck's convs keep about 47% of their weights
  and 60% of their multiply-adds, in line with the paper's TiedResNet50-S headline (54% of
  the parameters, 60% of the FLOPs); full-input splits would cost more than the plain conv.
- ``TiedSE`` defaults to B=4, r=4 (tiny-detector widths); the paper's 64x saving is B=8.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer, create_act
from .create_norm import NormLayer, create_norm


def _check_divisible(name: str, value: int, blocks: int) -> None:
    if value % blocks:
        raise ValueError(f"{name}={value} is not divisible by blocks={blocks}")


class TBC(nn.Module):
    """Tied Block Convolution: one thin conv shared by B equal channel blocks."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1,
                 blocks: int = 1, groups: int = 1, dilation: int = 1, bias: bool = False) -> None:
        super().__init__()
        _check_divisible("in_ch", in_ch, blocks)
        _check_divisible("out_ch", out_ch, blocks)
        self.blocks = blocks
        self.out_ch = out_ch
        padding = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv2d(in_ch // blocks, out_ch // blocks, kernel_size, stride, padding,
                              dilation, groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.reshape(n * self.blocks, c // self.blocks, h, w)  # (N*B, C/B, H, W)
        y = self.conv(x)  # (N*B, Cout/B, H', W')
        return y.reshape(n, self.out_ch, y.shape[-2], y.shape[-1])  # (N, Cout, H', W')


def grouped_conv(tbc: TBC) -> nn.Conv2d:
    """The conv ``tbc`` computes: B*G groups, the thin filters repeated on every block."""
    src, b = tbc.conv, tbc.blocks
    conv = nn.Conv2d(src.in_channels * b, src.out_channels * b, src.kernel_size, src.stride,
                     src.padding, src.dilation, src.groups * b, bias=src.bias is not None)
    conv = conv.to(src.weight)
    conv.weight.data.copy_(src.weight.data.repeat(b, 1, 1, 1))  # (Cout, C/(B*G), k, k)
    if src.bias is not None:
        conv.bias.data.copy_(src.bias.data.repeat(b))
    return conv


def untie_model(model: nn.Module) -> nn.Module:
    """Replace every TBC / TGC of ``model`` by its grouped conv, in place; returns ``model``."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, TBC):
                setattr(parent, name, grouped_conv(child))
    return model


def has_tied_convs(model: nn.Module) -> bool:
    return any(isinstance(m, TBC) for m in model.modules())


class TGC(TBC):
    """Tied Group Convolution: a G-group conv whose thin filters are shared by B blocks."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1,
                 blocks: int = 1, groups: int = 2, dilation: int = 1, bias: bool = False) -> None:
        _check_divisible("in_ch", in_ch, blocks * groups)
        _check_divisible("out_ch", out_ch, blocks * groups)
        super().__init__(in_ch, out_ch, kernel_size, stride, blocks, groups, dilation, bias)


class TiedConvNormAct(nn.Sequential):
    """TBC (``groups == 1``) or TGC -> norm -> activation."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, stride: int = 1,
                 blocks: int = 2, groups: int = 1, dilation: int = 1,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu") -> None:
        super().__init__()
        conv = TGC if groups > 1 else TBC
        self.conv = conv(in_ch, out_ch, kernel_size, stride, blocks, groups=groups,
                         dilation=dilation, bias=norm is None or norm == "none")
        self.bn = create_norm(norm, out_ch)
        self.act = create_act(act, out_ch)


class TFC(nn.Module):
    """Tied fully connected layer: one (out/B x in/B) matrix shared by B blocks of features."""

    def __init__(self, in_features: int, out_features: int, blocks: int = 1,
                 bias: bool = True) -> None:
        super().__init__()
        _check_divisible("in_features", in_features, blocks)
        _check_divisible("out_features", out_features, blocks)
        self.blocks = blocks
        self.out_features = out_features
        self.fc = nn.Linear(in_features // blocks, out_features // blocks, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = x.reshape(n * self.blocks, -1)  # (N*B, C/B)
        return self.fc(x).reshape(n, self.out_features)  # (N, Cout)


class TiedSE(nn.Module):
    """Squeeze-excitation with tied FCs: each block of C/B channels is gated by one shared MLP.

    ``hidden`` (per block) overrides ``C / B / r``; pruned nets keep their original width.
    """

    def __init__(self, channels: int, blocks: int = 4, reduction: int = 4,
                 act: ActLayer = "relu", gate: ActLayer = "sigmoid",
                 hidden: int | None = None) -> None:
        super().__init__()
        _check_divisible("channels", channels, blocks)
        self.blocks = blocks
        hidden = hidden or max(1, channels // blocks // reduction)
        self.fc1 = TFC(channels, hidden * blocks, blocks)
        self.act = create_act(act)
        self.fc2 = TFC(hidden * blocks, channels, blocks)
        self.gate = create_act(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        s = x.mean((2, 3), keepdim=True).reshape(n, c)  # (N, C)
        s = self.gate(self.fc2(self.act(self.fc1(s))))  # (N, C), tied over (N*B, C/B)
        return x * s.reshape(n, c, 1, 1)


class TiedSplitMixer(nn.Module):
    """The TiedResNet 3x3 stage: s input slices, a TBC with its own B on each, summed."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1,
                 blocks: Sequence[int] = (1, 2, 4, 8), dilation: int = 1) -> None:
        super().__init__()
        _check_divisible("in_ch", in_ch, len(blocks))
        # NOTE: split i sees only its in_ch/s slice but produces all out_ch channels.
        self.split_ch = in_ch // len(blocks)
        self.splits = nn.ModuleList(
            TBC(self.split_ch, out_ch, kernel_size, stride, b, dilation=dilation) for b in blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = None
        for i, conv in enumerate(self.splits):
            y = conv(x[:, i * self.split_ch:(i + 1) * self.split_ch])  # (N, Cout, H', W')
            out = y if out is None else out + y
        return out


class TiedBottleneck(nn.Module):
    """TiedResNet bottleneck: 1x1 TBC (B=2) -> split 3x3 TBCs + sum mixer -> 1x1 conv, residual."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, width: int | None = None,
                 blocks: Sequence[int] = (1, 2, 4, 8), entry_blocks: int = 2,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu") -> None:
        super().__init__()
        width = width or out_ch // 4
        self.entry = TBC(in_ch, width, 1, blocks=entry_blocks)
        self.bn1 = create_norm(norm, width)
        self.act1 = create_act(act, width)
        self.mixer = TiedSplitMixer(width, width, 3, stride, blocks)
        self.bn2 = create_norm(norm, width)
        self.act2 = create_act(act, width)
        self.exit = ConvNormAct(width, out_ch, 1, norm=norm, act=None)
        self.shortcut = (nn.Identity() if stride == 1 and in_ch == out_ch
                         else ConvNormAct(in_ch, out_ch, 1, stride, norm=norm, act=None))
        self.act3 = create_act(act, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(self.bn1(self.entry(x)))
        y = self.act2(self.bn2(self.mixer(y)))
        return self.act3(self.exit(y) + self.shortcut(x))
