import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.blocks.se import SE
from models.blocks.tied import TBC, TFC, TGC, TiedBottleneck, TiedSE, TiedSplitMixer


def _n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize(("stride", "dilation"), [(1, 1), (2, 1), (1, 2)])
def test_tbc_one_block_is_a_standard_conv(stride: int, dilation: int) -> None:
    tbc = TBC(8, 12, 3, stride, blocks=1, dilation=dilation, bias=True)
    conv = nn.Conv2d(8, 12, 3, stride, dilation, dilation)
    conv.load_state_dict(tbc.conv.state_dict())
    x = torch.randn(2, 8, 9, 9)
    torch.testing.assert_close(tbc(x), conv(x))


@pytest.mark.parametrize("blocks", [2, 4, 8])
def test_tbc_has_b_squared_fewer_params(blocks: int) -> None:
    assert _n_params(nn.Conv2d(64, 32, 3, bias=False)) == blocks**2 * _n_params(
        TBC(64, 32, 3, blocks=blocks))


@pytest.mark.parametrize("stride", [1, 2])
def test_tbc_applies_one_shared_conv_to_every_block(stride: int) -> None:
    blocks, c = 4, 16
    tbc = TBC(c, 8, 3, stride, blocks=blocks)
    x = torch.randn(2, c, 10, 10)
    w = tbc.conv.weight
    ref = torch.cat([F.conv2d(x[:, b * 4:(b + 1) * 4], w, stride=stride, padding=1)
                     for b in range(blocks)], dim=1)
    torch.testing.assert_close(tbc(x), ref)


def test_tgc_one_block_is_a_group_conv_and_ties_groups_across_blocks() -> None:
    x = torch.randn(2, 16, 6, 6)
    tgc1 = TGC(16, 8, 3, blocks=1, groups=4)
    gconv = nn.Conv2d(16, 8, 3, padding=1, groups=4, bias=False)
    gconv.load_state_dict(tgc1.conv.state_dict())
    torch.testing.assert_close(tgc1(x), gconv(x))

    tgc = TGC(16, 8, 3, blocks=2, groups=2)
    ref = torch.cat([F.conv2d(x[:, b * 8:(b + 1) * 8], tgc.conv.weight, padding=1, groups=2)
                     for b in range(2)], dim=1)
    torch.testing.assert_close(tgc(x), ref)
    assert _n_params(nn.Conv2d(16, 8, 3, groups=2, bias=False)) == 4 * _n_params(tgc)


def test_tfc_ties_one_matrix_across_blocks() -> None:
    x = torch.randn(3, 12)
    tfc = TFC(12, 6, blocks=3)
    ref = torch.cat([tfc.fc(x[:, b * 4:(b + 1) * 4]) for b in range(3)], dim=1)
    torch.testing.assert_close(tfc(x), ref)
    assert nn.Linear(12, 6).weight.numel() == 9 * tfc.fc.weight.numel()
    fc = nn.Linear(12, 6)
    one = TFC(12, 6, blocks=1)
    one.fc.load_state_dict(fc.state_dict())
    torch.testing.assert_close(one(x), fc(x))


def test_tied_block_layers_reject_indivisible_widths() -> None:
    with pytest.raises(ValueError, match="divisible"):
        TBC(10, 8, blocks=4)
    with pytest.raises(ValueError, match="divisible"):
        TGC(8, 8, blocks=2, groups=8)


def _fc_weights(m: nn.Module) -> int:
    return m.fc1.weight.numel() + m.fc2.weight.numel() if isinstance(m, SE) else (
        m.fc1.fc.weight.numel() + m.fc2.fc.weight.numel())


def test_tied_se_at_b8_has_64x_fewer_fc_weights_than_se() -> None:
    assert _fc_weights(SE(256, reduction=4)) == 64 * _fc_weights(TiedSE(256, 8, reduction=4))


def test_tied_se_one_block_equals_se() -> None:
    tied, se = TiedSE(16, blocks=1, reduction=4), SE(16, reduction=4)
    for fc_se, fc_tied in ((se.fc1, tied.fc1.fc), (se.fc2, tied.fc2.fc)):
        fc_se.weight.data.copy_(fc_tied.weight.data[:, :, None, None])
        fc_se.bias.data.copy_(fc_tied.bias.data)
    x = torch.randn(2, 16, 5, 5)
    torch.testing.assert_close(tied(x), se(x))


def test_tied_se_gates_each_block_with_the_same_mlp() -> None:
    se = TiedSE(16, blocks=4, reduction=2)
    x = torch.randn(2, 16, 5, 5)
    pooled = x.mean((2, 3))
    for b in range(4):
        p = pooled[:, b * 4:(b + 1) * 4]
        gate = torch.sigmoid(se.fc2.fc(torch.relu(se.fc1.fc(p))))
        ref = x[:, b * 4:(b + 1) * 4] * gate[:, :, None, None]
        torch.testing.assert_close(se(x)[:, b * 4:(b + 1) * 4], ref)


def test_split_mixer_sums_per_slice_tbcs() -> None:
    mixer = TiedSplitMixer(16, 8, 3, 1, blocks=(1, 2))
    x = torch.randn(2, 16, 6, 6)
    ref = mixer.splits[0](x[:, :8]) + mixer.splits[1](x[:, 8:])
    torch.testing.assert_close(mixer(x), ref)
    # Each split: (in/s) * out * 9 / B^2 weights.
    assert _n_params(mixer) == 8 * 8 * 9 // 1 + 8 * 8 * 9 // 4


@pytest.mark.parametrize(("in_ch", "out_ch", "stride"), [(64, 64, 1), (32, 64, 2)])
def test_tied_bottleneck_shapes_and_budget(in_ch: int, out_ch: int, stride: int) -> None:
    block = TiedBottleneck(in_ch, out_ch, stride, width=32).eval()
    y = block(torch.randn(2, in_ch, 8, 8))
    assert y.shape == (2, out_ch, 8 // stride, 8 // stride)
    w = 32  # entry 1x1 (B=2) + splits (1,2,4,8) on w/4 inputs each + exit 1x1
    convs = in_ch * w // 4 + sum(w // 4 * w * 9 // b**2 for b in (1, 2, 4, 8)) + w * out_ch
    standard = in_ch * w + w * w * 9 + w * out_ch
    tied_convs = sum(m.weight.numel() for m in block.modules()
                     if isinstance(m, nn.Conv2d)) - (0 if stride == 1 else in_ch * out_ch)
    assert tied_convs == convs < 0.6 * standard


def test_tied_bottleneck_residual_is_identity_when_branch_is_zeroed() -> None:
    block = TiedBottleneck(32, 32, width=16, blocks=(1, 2)).eval()
    nn.init.zeros_(block.exit.bn.weight)
    nn.init.zeros_(block.exit.bn.bias)
    x = torch.randn(2, 32, 6, 6).relu()
    torch.testing.assert_close(block(x), x)


@pytest.mark.parametrize("module", [TBC(16, 8, 3, 2, blocks=4), TiedSE(16, blocks=4)],
                         ids=["tbc", "tiedse"])
def test_block_fold_exports_with_static_shapes(module: nn.Module) -> None:
    module.eval()
    x = torch.randn(1, 16, 8, 8)
    program = torch.export.export(module, (x,))
    torch.testing.assert_close(program.module()(x), module(x))
    views = [n for n in program.graph.nodes
             if n.op == "call_function" and ("view" in str(n.target) or "reshape" in str(n.target))]
    assert views
    assert all(isinstance(d, int) for n in views for d in n.args[1])


def test_tied_conv_unit_with_one_block_equals_a_conv_unit() -> None:
    from models.blocks.conv_bn_act import ConvNormAct
    from models.blocks.tied import TiedConvNormAct

    tied = TiedConvNormAct(8, 12, 3, blocks=1).eval()
    plain = ConvNormAct(8, 12, 3).eval()
    plain.conv.load_state_dict(tied.conv.conv.state_dict())
    tied.bn.running_mean.uniform_(-0.2, 0.2)
    plain.bn.load_state_dict(tied.bn.state_dict())
    x = torch.randn(2, 8, 7, 7)
    torch.testing.assert_close(tied(x), plain(x))
    assert isinstance(TiedConvNormAct(8, 12, blocks=2, groups=2).conv, TGC)


@pytest.mark.parametrize(("blocks", "groups", "k", "stride", "dilation"),
                         [(2, 1, 1, 1, 1), (4, 1, 3, 2, 1), (2, 2, 3, 1, 2), (1, 4, 1, 1, 1)])
def test_untied_conv_computes_what_the_tied_one_does(blocks: int, groups: int, k: int,
                                                     stride: int, dilation: int) -> None:
    from models.blocks.tied import grouped_conv

    tied = TGC(16, 24, k, stride, blocks, groups, dilation, bias=True) if groups > 1 else TBC(
        16, 24, k, stride, blocks, dilation=dilation, bias=True)
    conv = grouped_conv(tied)
    assert type(conv) is nn.Conv2d and conv.groups == blocks * groups
    x = torch.randn(2, 16, 9, 9)
    torch.testing.assert_close(conv(x), tied(x))


def test_untie_model_leaves_no_tied_conv_and_keeps_the_tied_fcs() -> None:
    from models.blocks.tied import has_tied_convs, untie_model

    model = nn.Sequential(TBC(8, 16, blocks=2), TiedSE(16, blocks=2),
                          TiedSplitMixer(16, 8, blocks=(1, 2)))
    x = torch.randn(1, 8, 6, 6)
    before = model(x)
    assert has_tied_convs(model)
    untie_model(model)
    assert not has_tied_convs(model) and isinstance(model[1].fc1, TFC)
    torch.testing.assert_close(model(x), before)
