"""RepVGG re-parameterisation: folded and unfolded outputs agree in eval mode (a property over
shapes, strides, groups and dilations), and folding leaves one conv."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from models.blocks.repconv import RepConvNormAct, has_branches, reparameterize_model


def _randomise_bn(module: nn.Module, seed: int) -> None:
    """Non-trivial BN statistics and affine terms, so a wrong fold cannot pass."""
    g = torch.Generator().manual_seed(seed)
    for bn in module.modules():
        if isinstance(bn, nn.BatchNorm2d):
            n = bn.num_features
            bn.running_mean.copy_(torch.randn(n, generator=g))
            bn.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            bn.weight.data.copy_(torch.randn(n, generator=g))
            bn.bias.data.copy_(torch.randn(n, generator=g))


@settings(max_examples=25, deadline=None)
@given(ch=st.sampled_from([4, 8]), out_mult=st.sampled_from([1, 2]),
       stride=st.sampled_from([1, 2]), depthwise=st.booleans(),
       dilation=st.sampled_from([1, 2]), act=st.sampled_from(["relu6", None]),
       seed=st.integers(0, 1000))
def test_folded_equals_unfolded(ch: int, out_mult: int, stride: int, depthwise: bool,
                                dilation: int, act: str | None, seed: int) -> None:
    out_ch = ch * out_mult
    block = RepConvNormAct(ch, out_ch, 3, stride, ch if depthwise else 1, dilation,
                           act=act).eval()
    _randomise_bn(block, seed)
    x = torch.randn(2, ch, 12, 12, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        before = block(x)
        block.reparameterize()
        after = block(x)
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)
    assert isinstance(block.reparam, nn.Conv2d) and block.reparam.groups == block.groups


def test_identity_branch_only_where_shapes_match() -> None:
    assert RepConvNormAct(8, 8).identity is not None
    assert RepConvNormAct(8, 16).identity is None
    assert RepConvNormAct(8, 8, stride=2).identity is None


def test_reparameterize_model_leaves_single_convs() -> None:
    net = nn.Sequential(RepConvNormAct(3, 8, stride=2), RepConvNormAct(8, 8, groups=8)).eval()
    _randomise_bn(net, 0)
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        before = net(x)
        assert has_branches(net)
        reparameterize_model(net)
        after = net(x)
    assert not has_branches(net)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 2
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)


def test_refuses_what_it_cannot_fold() -> None:
    with pytest.raises(ValueError, match="odd kernel"):
        RepConvNormAct(4, 4, kernel_size=2)
    with pytest.raises(ValueError, match="BatchNorm"):
        RepConvNormAct(4, 4, norm="none")
