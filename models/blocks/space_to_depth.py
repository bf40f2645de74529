"""Space-to-depth stem (after TResNet, Ridnik et al., arXiv 2003.13630, Sec. 2.1, and YOLOv5's
"Focus" layer): rearrange each ``b x b`` pixel block into channels (pixel-unshuffle), then a
conv at the reduced resolution.

``(N, C, H, W) -> pixel_unshuffle(b) -> (N, C*b*b, H/b, W/b) -> kxk conv-norm-act``. The
rearrangement loses no information, and the first conv runs at 1/b^2 of the input pixels with
a dense input of ``C*b*b`` channels, in place of a strided conv on 3 channels (a shape int8
CPU kernels run poorly: 3 input channels fill few SIMD lanes).

Choices of ours:
- ``nn.PixelUnshuffle`` (``torch.export`` decomposes it into reshape / permute / reshape,
  which both the XNNPACK delegate and the TFLite converter take); the input side must be a
  multiple of ``b`` (every Specks tile is a multiple of 32).
- ``rep=True`` builds the conv as a RepVGG branch set (``repconv.RepConvNormAct``).
"""

from __future__ import annotations

from torch import nn

from .conv_bn_act import ConvNormAct
from .create_act import ActLayer
from .create_norm import NormLayer
from .repconv import RepConvNormAct


class SpaceToDepthStem(nn.Sequential):
    """Pixel-unshuffle by ``block``, then a ``kernel_size`` conv-norm-act to ``out_ch``."""

    def __init__(self, in_ch: int, out_ch: int, block: int = 2, kernel_size: int = 3,
                 norm: NormLayer = "batchnorm", act: ActLayer = "relu6",
                 rep: bool = False) -> None:
        super().__init__()
        conv = RepConvNormAct if rep else ConvNormAct
        self.unshuffle = nn.PixelUnshuffle(block)  # (N, C*b*b, H/b, W/b)
        self.conv = conv(in_ch * block * block, out_ch, kernel_size, 1, norm=norm, act=act)
