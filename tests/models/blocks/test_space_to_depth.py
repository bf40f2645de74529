"""Space-to-depth stem: lossless rearrangement, then a conv at half resolution."""

import torch
from torch import nn

from models.blocks.repconv import RepConvNormAct
from models.blocks.space_to_depth import SpaceToDepthStem


def test_halves_the_resolution_and_keeps_every_pixel() -> None:
    stem = SpaceToDepthStem(3, 16).eval()
    x = torch.randn(2, 3, 32, 48)
    assert stem(x).shape == (2, 16, 16, 24)
    packed = stem.unshuffle(x)
    assert packed.shape == (2, 12, 16, 24)
    torch.testing.assert_close(nn.functional.pixel_shuffle(packed, 2), x)
    assert stem.conv.conv.in_channels == 12


def test_rep_stem_builds_branches() -> None:
    assert isinstance(SpaceToDepthStem(3, 16, rep=True).conv, RepConvNormAct)
