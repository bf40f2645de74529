import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from models.blocks.sampled_conv import SampledConv, gather_windows, sample_positions
from models.blocks.sampling import SamplingModule, grid_prior


def _randomise_norm(conv: SampledConv) -> None:
    bn = conv.bn
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2.0)
    torch.nn.init.normal_(bn.weight)
    torch.nn.init.normal_(bn.bias)


def _dense(conv: SampledConv, x: torch.Tensor) -> torch.Tensor:
    return conv.act(conv.bn(conv.conv(x)))


CASES = [(3, 1, 1), (3, 2, 1), (3, 1, 2), (1, 1, 1), (5, 2, 1)]  # kernel, stride, dilation


@pytest.mark.parametrize(("k", "stride", "dilation"), CASES)
def test_all_ones_mask_equals_the_dense_conv(k: int, stride: int, dilation: int) -> None:
    conv = SampledConv(6, 8, k, stride, dilation, act="hardswish").eval()
    _randomise_norm(conv)
    x = torch.randn(2, 6, 11, 13)
    mask = torch.ones(2, 1, *conv.out_size(11, 13))
    with torch.no_grad():
        torch.testing.assert_close(conv(x, mask), _dense(conv, x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(("k", "stride", "dilation"), CASES)
def test_sparse_mask_computes_sampled_and_interpolates_the_rest(k: int, stride: int,
                                                                dilation: int) -> None:
    conv = SampledConv(6, 8, k, stride, dilation).eval()
    _randomise_norm(conv)
    conv.interp.sigma.data.fill_(0.7)  # a wide kernel: interpolated values are not ~0
    x = torch.randn(2, 6, 12, 14)
    mask = (torch.rand(2, 1, *conv.out_size(12, 14)) < 0.3).float()
    with torch.no_grad():
        dense = _dense(conv, x)
        out = conv(x, mask)
        keep = mask.bool().expand_as(dense)
        torch.testing.assert_close(out[keep], dense[keep], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(out, conv.interp(dense, mask), atol=1e-4, rtol=1e-4)
    assert (out[~keep].abs() > 1e-3).any()


def test_gather_windows_equals_unfold_at_the_sampled_positions() -> None:
    x = torch.randn(2, 3, 9, 10)
    k, stride, dilation, padding = 3, 2, 2, 2
    cols = F.unfold(x, k, dilation, padding, stride)  # (N, C*k*k, L)
    ho, wo = 5, 5
    positions = torch.tensor([0, 7, 24, 25, 33, 49])
    got = gather_windows(x, positions, k, stride, dilation, padding)  # (P, k*k*C), (ky,kx,c)
    n, rest = positions // (ho * wo), positions % (ho * wo)
    ref = cols[n, :, rest].view(-1, 3, k * k).transpose(1, 2).reshape(len(positions), -1)
    torch.testing.assert_close(got, ref)


def test_training_runs_densely_with_the_soft_mask_and_backpropagates() -> None:
    conv = SampledConv(4, 4, 3).train()
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    mask = torch.rand(2, 1, 8, 8, requires_grad=True)
    out = conv(x, mask)
    torch.testing.assert_close(out, conv.interp(_dense(conv, x), mask))
    out.sum().backward()
    assert mask.grad.abs().sum() > 0 and conv.conv.weight.grad.abs().sum() > 0


def test_sparse_inference_spends_flops_in_proportion_to_density() -> None:
    conv = SampledConv(32, 32, 3, norm=None, act=None).eval()
    x = torch.randn(1, 32, 40, 40)

    def flops(mask: torch.Tensor) -> int:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            conv(x, mask)
        return counter.get_total_flops()

    dense = 2 * 32 * 32 * 9 * 40 * 40
    sparse = (torch.rand(1, 1, 40, 40) < 0.1).float()
    full, tenth = flops(torch.ones(1, 1, 40, 40)), flops(sparse)
    # the conv's GEMM shrinks with the sampled fraction; the interpolation's cost is fixed
    assert full - tenth == pytest.approx((1 - sparse.mean().item()) * dense, rel=1e-6)
    assert tenth < 0.5 * full


def test_grid_prior_positions_are_always_computed() -> None:
    sampler = SamplingModule(5, grid_interval=4, init_bias=-30.0).eval()
    conv = SampledConv(5, 6, 3).eval()
    _randomise_norm(conv)
    x = torch.randn(1, 5, 13, 13)
    mask, _ = sampler(x)
    lattice = grid_prior(13, 13, 4)
    assert sample_positions(mask).tolist() == lattice.reshape(-1).nonzero().squeeze(1).tolist()
    with torch.no_grad():
        out, dense = conv(x, mask), _dense(conv, x)
    torch.testing.assert_close(out[..., lattice], dense[..., lattice], atol=1e-4, rtol=1e-4)


def test_folded_weights_follow_parameter_changes() -> None:
    conv = SampledConv(4, 5, 3).eval()
    x, mask = torch.randn(1, 4, 6, 6), torch.ones(1, 1, 6, 6)
    with torch.no_grad():
        first = conv(x, mask)
        conv.conv.weight.mul_(2)
        conv.bn.running_mean.add_(1)
        torch.testing.assert_close(conv(x, mask), _dense(conv, x), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(first, _dense(conv, x))


def test_empty_mask_and_wrong_mask_size() -> None:
    conv = SampledConv(3, 4, 3, stride=2).eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(conv(x, torch.zeros(1, 1, 4, 4)), torch.zeros(1, 4, 4, 4))
    with pytest.raises(ValueError, match="does not match"):
        conv(x, torch.ones(1, 1, 8, 8))
