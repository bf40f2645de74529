import math

import pytest
import torch
from torch import nn

from models.blocks.ghost import GhostBottleneck, GhostModule
from models.blocks.se import SE


@pytest.mark.parametrize(("out_ch", "ratio"), [(16, 2), (7, 2), (10, 3), (12, 4)])
def test_ghost_module_channels_and_params(out_ch: int, ratio: int) -> None:
    in_ch, d = 8, 3
    module = GhostModule(in_ch, out_ch, ratio, dw_size=d)
    assert module(torch.randn(2, in_ch, 6, 6)).shape == (2, out_ch, 6, 6)
    m = math.ceil(out_ch / ratio)
    ghosts = m * (ratio - 1)
    expected = in_ch * m + 2 * m + d * d * ghosts + 2 * ghosts  # convs + BN affine
    assert sum(p.numel() for p in module.parameters()) == expected


def test_ghost_module_keeps_intrinsic_maps_and_adds_cheap_ones() -> None:
    module = GhostModule(8, 12, ratio=3).eval()
    x = torch.randn(2, 8, 5, 5)
    y = module(x)
    intrinsic = module.primary(x)
    torch.testing.assert_close(y[:, :4], intrinsic)
    torch.testing.assert_close(y[:, 4:], module.cheap(intrinsic))
    assert module.cheap.conv.groups == 4


@pytest.mark.parametrize(("in_ch", "out_ch", "stride"), [(16, 16, 1), (16, 24, 2), (16, 24, 1)])
def test_ghost_bottleneck_shapes(in_ch: int, out_ch: int, stride: int) -> None:
    block = GhostBottleneck(in_ch, 32, out_ch, stride, attn="se")
    assert isinstance(block.attn, SE)
    assert block(torch.randn(2, in_ch, 8, 8)).shape == (2, out_ch, 8 // stride, 8 // stride)


def test_ghost_bottleneck_identity_shortcut() -> None:
    block = GhostBottleneck(16, 32, 16).eval()
    assert isinstance(block.shortcut, nn.Identity) and isinstance(block.dw, nn.Identity)
    for bn in (block.ghost2.primary.bn, block.ghost2.cheap.bn):
        nn.init.zeros_(bn.weight)
        nn.init.zeros_(bn.bias)
    x = torch.randn(2, 16, 6, 6)
    torch.testing.assert_close(block(x), x)
