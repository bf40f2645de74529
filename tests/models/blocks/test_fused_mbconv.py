"""Fused-MBConv: one dense 3x3 in place of expand 1x1 + depthwise, shapes and residual."""

import pytest
import torch
from torch import nn

from models.blocks.fused_mbconv import FusedMBConv
from models.blocks.repconv import RepConvNormAct


@pytest.mark.parametrize(("in_ch", "out_ch", "stride", "residual"),
                         [(16, 16, 1, True), (16, 24, 1, False), (16, 16, 2, False)])
def test_shapes_and_residual(in_ch: int, out_ch: int, stride: int, residual: bool) -> None:
    block = FusedMBConv(in_ch, out_ch, stride, expand_ratio=2.0).eval()
    nn.init.zeros_(block.project.bn.weight)  # the branch output becomes exactly zero
    nn.init.zeros_(block.project.bn.bias)
    x = torch.randn(2, in_ch, 8, 8)
    with torch.no_grad():
        y = block(x)
    assert y.shape == (2, out_ch, 8 // stride, 8 // stride)
    assert block.use_residual is residual
    if residual:
        torch.testing.assert_close(y, x)


def test_the_expand_conv_is_dense() -> None:
    block = FusedMBConv(16, 24, expand_ratio=2.0, mid_ch=20)
    conv = block.fused.conv
    assert (conv.in_channels, conv.out_channels, conv.groups, conv.kernel_size) == (
        16, 20, 1, (3, 3))
    assert isinstance(FusedMBConv(16, 24, rep=True).fused, RepConvNormAct)
