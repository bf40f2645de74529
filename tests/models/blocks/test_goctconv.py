import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.blocks.config import exportable
from models.blocks.goctconv import GOctConv, GOctConvCBR, ILBlock, split_channels


def _scales(n: int, channels: list[int], size: int = 16) -> list[torch.Tensor]:
    return [torch.randn(n, c, size >> i, size >> i) for i, c in enumerate(channels)]


def test_split_channels_uses_cumulative_rounding() -> None:
    assert split_channels(20, [0.5, 0.5]) == [10, 10]
    assert split_channels(7, [0.5, 0.5]) == [4, 3]  # round(3.5) = 4, round(7) = 7
    assert split_channels(10, [1 / 3, 1 / 3, 1 / 3]) == [3, 4, 3]
    assert split_channels(10) == [10]
    assert split_channels([3, 5]) == [3, 5]


@pytest.mark.parametrize(("k", "dilation", "bias"), [(1, 1, False), (3, 1, True), (3, 2, False)])
def test_one_scale_equals_plain_conv(k: int, dilation: int, bias: bool) -> None:
    goct = GOctConv(6, 10, k, dilation=dilation, bias=bias)
    conv = nn.Conv2d(6, 10, k, padding=dilation * (k - 1) // 2, dilation=dilation, bias=bias)
    conv.load_state_dict(goct.convs["0to0"].state_dict())
    x = torch.randn(2, 6, 12, 12)
    (y,) = goct([x])
    torch.testing.assert_close(y, conv(x))


def test_stride_two_average_pools_every_input_first() -> None:
    strided = GOctConv([4, 6], [5, 3], 3, stride=2)
    plain = GOctConv([4, 6], [5, 3], 3)
    plain.load_state_dict(strided.state_dict())
    xs = _scales(2, [4, 6])
    expected = plain([F.avg_pool2d(x, 2) for x in xs])
    for a, b in zip(strided(xs), expected, strict=True):
        torch.testing.assert_close(a, b)
    assert [tuple(y.shape) for y in expected] == [(2, 5, 8, 8), (2, 3, 4, 4)]


def test_cross_scale_path_rules() -> None:
    conv = GOctConv([4, 6], [5, 3], 3)
    x0, x1 = _scales(2, [4, 6])
    w = {key: c.weight for key, c in conv.convs.items()}
    # coarser -> finer: conv at the coarse resolution, then bilinear upsample by 2
    up = F.interpolate(F.conv2d(x1, w["1to0"], padding=1), scale_factor=2, mode="bilinear",
                       align_corners=False)
    # finer -> coarser: max-pool by 2, then conv
    down = F.conv2d(F.max_pool2d(x0, 2), w["0to1"], padding=1)
    y0, y1 = conv([x0, x1])
    torch.testing.assert_close(y0, F.conv2d(x0, w["0to0"], padding=1) + up)
    torch.testing.assert_close(y1, F.conv2d(x1, w["1to1"], padding=1) + down)


def test_cross_scale_path_shapes_over_three_scales() -> None:
    conv = GOctConv([4, 6, 8], [3, 5], 1)
    assert sorted(conv.paths) == [(i, j) for i in range(3) for j in range(2)]
    assert tuple(conv.convs["2to0"].weight.shape) == (3, 8, 1, 1)  # upsampled by 4 after
    assert tuple(conv.convs["0to1"].weight.shape) == (5, 4, 1, 1)  # max-pooled by 2 before
    ys = conv(_scales(2, [4, 6, 8]))
    assert [tuple(y.shape) for y in ys] == [(2, 3, 16, 16), (2, 5, 8, 8)]
    # with every path on, the weights add up to one dense conv's: sum(in) * sum(out) * k * k
    full = GOctConv(12, 9, 3, alpha_in=[0.5, 0.5], alpha_out=[1 / 3, 2 / 3])
    assert sum(p.numel() for p in full.parameters()) == 12 * 9 * 9


def test_one_scale_to_two_scales_pools_the_input() -> None:
    conv = GOctConv(3, 8, 3, alpha_out=[0.5, 0.5])
    assert conv.paths == [(0, 0), (0, 1)]
    y0, y1 = conv([torch.randn(1, 3, 16, 16)])
    assert y0.shape == (1, 4, 16, 16) and y1.shape == (1, 4, 8, 8)


def test_odd_sizes_stay_consistent() -> None:
    conv = GOctConv([4, 6], [5, 3], 3)
    ys = conv([torch.randn(1, 4, 15, 13), torch.randn(1, 6, 7, 6)])
    assert [tuple(y.shape[-2:]) for y in ys] == [(15, 13), (7, 6)]


def test_simplified_variant_keeps_scales_separate() -> None:
    conv = GOctConv([4, 6], [4, 6], 3, depthwise=True)
    assert conv.paths == [(0, 0), (1, 1)]
    assert conv.convs["1to1"].groups == 6
    assert sum(p.numel() for p in conv.parameters()) == (4 + 6) * 9
    xs = [x.requires_grad_() for x in _scales(1, [4, 6])]
    conv(xs)[0].sum().backward()
    assert xs[1].grad is None  # scale 0's output never sees scale 1
    no_cross = GOctConv([4, 6], [5, 3], 1, cross_scale=False)
    assert no_cross.paths == [(0, 0), (1, 1)]


def test_invalid_configurations_raise() -> None:
    with pytest.raises(ValueError, match="depthwise"):
        GOctConv([4, 6], [4, 5], 3, depthwise=True)
    with pytest.raises(ValueError, match="no path"):
        GOctConv([4], [2, 2], 1, cross_scale=False)
    with pytest.raises(ValueError, match="channels"):
        GOctConv(4, 1, 1, alpha_out=[0.5, 0.5])  # round(0.5) = 0 channels at scale 0
    with pytest.raises(ValueError, match="expected 2 scales"):
        GOctConv([4, 6], [4, 6])([torch.randn(1, 4, 8, 8)])


def test_cbr_has_norm_and_prelu_per_scale() -> None:
    cbr = GOctConvCBR(8, 12, 3, alpha_in=[0.5, 0.5], alpha_out=[0.5, 0.5])
    assert [bn.num_features for bn in cbr.bns] == [6, 6]
    assert all(isinstance(a, nn.PReLU) and a.num_parameters == 6 for a in cbr.acts)
    assert all(c.bias is None for c in cbr.conv.convs.values())  # BN follows: no conv bias
    cbr.eval()
    nn.init.constant_(cbr.acts[1].weight, 0.0)  # PReLU slope 0 at scale 1 only: a ReLU
    ys = cbr(_scales(2, [4, 4]))
    assert (ys[1] >= 0).all() and (ys[0] < 0).any()


def test_cbr_follows_the_exportable_switch() -> None:
    with exportable():
        cbr = GOctConvCBR(4, 4, act="silu", alpha_in=[0.5, 0.5], alpha_out=[0.5, 0.5])
    assert all(isinstance(a, nn.Hardswish) for a in cbr.acts)


@pytest.mark.parametrize(("stride", "first", "k"), [(1, False, 1), (2, False, 3), (1, True, 3)])
def test_ilblock_kernel_and_shapes(stride: int, first: bool, k: int) -> None:
    block = ILBlock([4, 4], 12, alpha_out=[0.5, 0.5], stride=stride, first=first)
    assert {c.kernel_size for c in block.conv1.conv.convs.values()} == {(k, k)}
    for dw in (block.dw1, block.dw2):
        assert [c.groups for c in dw.conv.convs.values()] == [6, 6]
    ys = block(_scales(2, [4, 4]))
    size = 16 // stride
    assert [tuple(y.shape) for y in ys] == [(2, 6, size, size), (2, 6, size // 2, size // 2)]


def test_ilblock_has_no_residual() -> None:
    block = ILBlock([6, 6], [6, 6]).eval()
    for bn in block.conv1.bns:  # the first CBR now outputs exactly zero
        nn.init.zeros_(bn.weight)
        nn.init.zeros_(bn.bias)
    ys = block(_scales(2, [6, 6]))
    assert all(torch.count_nonzero(y) == 0 for y in ys)


def test_ilblock_can_end_in_one_scale() -> None:
    block = ILBlock([4, 4], [8])
    (y,) = block(_scales(1, [4, 4]))
    assert y.shape == (1, 8, 16, 16)
