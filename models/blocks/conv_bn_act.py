"""Conv -> norm -> activation (a Sequential: conv, bn, act), the unit most blocks are built
from (timm ``ConvNormAct``).

Padding is ``dilation * (k - 1) // 2`` ("same" for odd kernels at stride 1), so shapes stay
static and export-friendly.
"""

from __future__ import annotations

from torch import nn

from .create_act import ActLayer, create_act
from .create_norm import NormLayer, create_norm


class ConvNormAct(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int | tuple[int, int] = 3,
                 stride: int = 1, groups: int = 1, dilation: int = 1,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu") -> None:
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        padding = tuple(dilation * (k - 1) // 2 for k in ks)
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, ks, stride, padding, dilation, groups,
                              bias=norm is None or norm == "none")
        self.bn = create_norm(norm, out_ch)
        self.act = create_act(act, out_ch)
