"""Channel shuffle (Zhang et al., "ShuffleNet", arXiv 1707.01083, Sec. 3.1) and the
ShuffleNetV2 unit (Ma et al., "ShuffleNet V2", arXiv 1807.11164, Sec. 4, Fig. 3c/3d).

The V2 unit follows the paper's guidelines: equal input/output widths inside a branch, a
plain 1x1 conv (no group conv), concat instead of add, and one shuffle (2 groups) after the
concat. Stride 1 splits the channels in half and transforms one half; stride 2 runs both
branches on the full input and doubles the width of each half.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer
from .create_norm import NormLayer


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave ``groups`` channel groups; the inverse is ``channel_shuffle(x, C // groups)``."""
    n, c, h, w = x.shape
    x = x.reshape(n, groups, c // groups, h, w)  # (N, g, C/g, H, W)
    x = x.transpose(1, 2)  # (N, C/g, g, H, W)
    return x.reshape(n, c, h, w)  # (N, C, H, W)


def _branch(in_ch: int, out_ch: int, stride: int, norm: NormLayer, act: ActLayer) -> nn.Sequential:
    """1x1 conv-act -> depthwise 3x3 (no act) -> 1x1 conv-act (Fig. 3c/3d, right branch)."""
    return nn.Sequential(
        ConvNormAct(in_ch, out_ch, 1, norm=norm, act=act),
        ConvNormAct(out_ch, out_ch, 3, stride, groups=out_ch, norm=norm, act=None),
        ConvNormAct(out_ch, out_ch, 1, norm=norm, act=act),
    )


class ShuffleV2Unit(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int = 1,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu") -> None:
        super().__init__()
        if out_ch % 2 or (stride == 1 and in_ch != out_ch):
            raise ValueError(f"need even out_ch, and in_ch == out_ch at stride 1; got "
                             f"{in_ch} -> {out_ch} at stride {stride}")
        half = out_ch // 2
        self.stride = stride
        self.split_ch = in_ch // 2
        if stride == 1:
            self.branch1 = nn.Identity()
            self.branch2 = _branch(half, half, 1, norm, act)
        else:
            self.branch1 = nn.Sequential(
                ConvNormAct(in_ch, in_ch, 3, stride, groups=in_ch, norm=norm, act=None),
                ConvNormAct(in_ch, half, 1, norm=norm, act=act),
            )
            self.branch2 = _branch(in_ch, half, stride, norm, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x[:, :self.split_ch], x[:, self.split_ch:]  # (N, C/2, H, W) each
        else:
            x1 = x2 = x
        y = torch.cat([self.branch1(x1), self.branch2(x2)], dim=1)  # (N, Cout, H', W')
        return channel_shuffle(y, 2)
