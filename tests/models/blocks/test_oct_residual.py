"""Octave inverted residual: with its low branch silenced it is the inverted residual of its
high branch; the low branch runs at half resolution; shapes, residual and refusals."""

import pytest
import torch
from torch import nn

from models.blocks.depthwise import InvertedResidual
from models.blocks.oct_residual import OctInvertedResidual


def _randomize_bns(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)


def _high_branch_as_ir(oct_block: OctInvertedResidual, in_ch: int, out_ch: int,
                       dilation: int) -> InvertedResidual:
    """The plain inverted residual that holds the octave block's high-branch weights."""
    high = oct_block.expand.out_channels[0]
    ir = InvertedResidual(in_ch, out_ch, 1, dilation=dilation, mid_ch=high).eval()
    pairs = [(ir.expand, oct_block.expand), (ir.dw, oct_block.dw),
             (ir.project, oct_block.project)]
    for unit, cbr in pairs:
        unit.conv.load_state_dict(cbr.conv.convs["0to0"].state_dict())
        unit.bn.load_state_dict(cbr.bns[0].state_dict())
    return ir


@pytest.mark.parametrize(("in_ch", "out_ch", "dilation"), [(16, 16, 1), (16, 24, 2)])
def test_silent_low_branch_leaves_the_high_branch_inverted_residual(
        in_ch: int, out_ch: int, dilation: int) -> None:
    torch.manual_seed(0)
    block = OctInvertedResidual(in_ch, out_ch, 1, expand_ratio=3.0, dilation=dilation).eval()
    _randomize_bns(block)
    ir = _high_branch_as_ir(block, in_ch, out_ch, dilation)
    x = torch.randn(2, in_ch, 12, 12)
    with torch.no_grad():
        with_low = block(x)
        nn.init.zeros_(block.project.conv.convs["1to0"].weight)  # low -> output path off
        torch.testing.assert_close(block(x), ir(x))
    assert not torch.allclose(with_low, ir(x))  # the low branch did contribute


def test_the_low_branch_runs_at_half_resolution() -> None:
    block = OctInvertedResidual(16, 24, 2, expand_ratio=4.0, low=0.25).eval()
    with torch.no_grad():
        high, low = block.dw(block.expand([torch.randn(1, 16, 16, 16)]))
        y = block(torch.randn(1, 16, 16, 16))
    assert tuple(high.shape) == (1, 48, 8, 8) and tuple(low.shape) == (1, 16, 4, 4)
    assert tuple(y.shape) == (1, 24, 8, 8)


@pytest.mark.parametrize(("in_ch", "out_ch", "stride", "residual"),
                         [(16, 16, 1, True), (16, 24, 1, False), (16, 16, 2, False)])
def test_shapes_and_residual(in_ch: int, out_ch: int, stride: int, residual: bool) -> None:
    block = OctInvertedResidual(in_ch, out_ch, stride, expand_ratio=3.0, attn="tiedse").eval()
    nn.init.zeros_(block.project.bns[0].weight)  # the branch output becomes exactly zero
    nn.init.zeros_(block.project.bns[0].bias)
    x = torch.randn(2, in_ch, 8, 8)
    with torch.no_grad():
        y = block(x)
    assert y.shape == (2, out_ch, 8 // stride, 8 // stride)
    assert block.use_residual is residual
    if residual:
        torch.testing.assert_close(y, x)


def test_refuses_rep_and_a_low_fraction_outside_0_1() -> None:
    with pytest.raises(ValueError, match="RepVGG"):
        OctInvertedResidual(16, 16, rep=True)
    with pytest.raises(ValueError, match="low"):
        OctInvertedResidual(16, 16, low=1.0)
