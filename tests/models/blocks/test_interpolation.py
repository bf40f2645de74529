import math

import pytest
import torch
import torch.nn.functional as F

from models.blocks.interpolation import (
    AvgPoolInterpolation,
    ConvInterpolation,
    RBFInterpolation,
    create_interpolation,
)


def _reference(feature: torch.Tensor, mask: torch.Tensor, k: torch.Tensor,
               eps: float = 1e-5) -> torch.Tensor:
    """out = m*F + (1-m) * [K*(F*m)] / (K*m + eps), written out with a full 2-D kernel."""
    c, pad = feature.shape[1], k.shape[-1] // 2
    num = F.conv2d(feature * mask, k.expand(c, 1, -1, -1), padding=pad, groups=c)
    den = F.conv2d(mask, k[None, None], padding=pad)
    return mask * feature + (1 - mask) * num / (den + eps)


def test_rbf_kernel_matches_the_formula() -> None:
    interp = RBFInterpolation(7, sigma=1.3)
    s = 1.3
    d = torch.arange(7.0) - 3
    d2 = d[:, None] ** 2 + d[None, :] ** 2
    ref = s**2 / (2 * math.pi) * torch.exp(-(s**2) * d2 / 2)
    torch.testing.assert_close(interp.kernel(), ref)
    assert interp.sigma.item() == pytest.approx(1.3)
    assert RBFInterpolation().kernel()[3, 3].item() == pytest.approx(9 / (2 * math.pi))


@pytest.mark.parametrize("name", ["rbf", "conv", "avgpool"])
def test_interpolation_follows_the_formula_for_soft_masks(name: str) -> None:
    interp = create_interpolation(name)
    if name == "rbf":
        interp.sigma.data.fill_(0.8)  # a wide kernel, so neighbours really contribute
    feature, mask = torch.randn(2, 5, 11, 13), torch.rand(2, 1, 11, 13)
    with torch.no_grad():
        ref = _reference(feature, mask, interp.kernel())
    torch.testing.assert_close(interp(feature, mask), ref, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(interp.from_masked(feature * mask, mask), ref, atol=1e-5,
                               rtol=1e-4)


@pytest.mark.parametrize("name", ["rbf", "conv", "avgpool"])
def test_binary_mask_keeps_sampled_and_all_ones_is_identity(name: str) -> None:
    interp = create_interpolation(name)
    feature = torch.randn(1, 3, 9, 9)
    mask = (torch.rand(1, 1, 9, 9) < 0.4).float()
    out = interp(feature, mask)
    keep = mask.bool().expand_as(feature)
    assert torch.equal(out[keep], feature[keep])
    torch.testing.assert_close(interp(feature, torch.ones_like(mask)), feature)


@pytest.mark.parametrize("name", ["rbf", "conv", "avgpool"])
@pytest.mark.parametrize("shape", [(1, 5, 11, 13), (3, 4, 17, 6), (2, 3, 4, 9)])
def test_from_rows_equals_the_dense_formula(name: str, shape: tuple[int, ...]) -> None:
    interp = create_interpolation(name)
    if name == "rbf":
        interp.sigma.data.fill_(0.8)
    n, c, h, w = shape
    feature, mask = torch.randn(shape), (torch.rand(n, 1, h, w) < 0.3).float()
    positions = mask.reshape(-1).nonzero().squeeze(1)
    rows = feature.permute(0, 2, 3, 1).reshape(-1, c)[positions]  # (P, C)
    with torch.no_grad():
        out = interp.from_rows(rows, positions, mask)
        ref = _reference(feature, mask, interp.kernel())
    keep = mask.bool().expand_as(feature)
    assert torch.equal(out[keep], feature[keep])
    # NOTE: the separable passes sum in another order than the 2-D stencil: float32 rounding
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)


def test_avgpool_fills_the_window_with_the_mean_of_sampled_neighbours() -> None:
    feature = torch.zeros(1, 1, 15, 15)
    mask = torch.zeros(1, 1, 15, 15)
    feature[0, 0, 7, 5], feature[0, 0, 7, 9] = 2.0, 4.0
    mask[0, 0, 7, 5] = mask[0, 0, 7, 9] = 1.0
    out = AvgPoolInterpolation(7)(feature, mask)[0, 0]
    assert out[7, 7].item() == pytest.approx(3.0, rel=1e-4)  # both within 3 px
    assert out[7, 3].item() == pytest.approx(2.0, rel=1e-4)  # only the left one
    assert out[7, 13].item() == 0.0  # none within reach


def test_conv_interpolation_uses_absolute_weights() -> None:
    interp = ConvInterpolation(5)
    torch.nn.init.normal_(interp.weight)
    feature, mask = torch.randn(1, 2, 8, 8), (torch.rand(1, 1, 8, 8) < 0.5).float()
    out = interp(feature, mask)
    interp.weight.data.neg_()
    torch.testing.assert_close(interp(feature, mask), out)


@pytest.mark.parametrize("name", ["rbf", "conv"])
def test_kernel_parameters_are_learned(name: str) -> None:
    interp = create_interpolation(name)
    if name == "rbf":
        interp.sigma.data.fill_(1.0)
    feature, mask = torch.randn(1, 2, 8, 8), (torch.rand(1, 1, 8, 8) < 0.5).float()
    interp(feature, mask).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in interp.parameters())


def test_unknown_interpolation_and_even_size_raise() -> None:
    with pytest.raises(ValueError, match="unknown interpolation"):
        create_interpolation("bilinear")
    with pytest.raises(ValueError, match="odd"):
        RBFInterpolation(6)
