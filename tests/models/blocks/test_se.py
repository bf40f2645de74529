import pytest
import torch
from torch import nn

from models.blocks.config import exportable
from models.blocks.create_act import HardSigmoid
from models.blocks.se import SE


def test_se_matches_the_squeeze_excite_formula() -> None:
    se = SE(16, reduction=4)
    x = torch.randn(2, 16, 5, 5)
    s = x.mean((2, 3))
    w1, b1 = se.fc1.weight.flatten(1), se.fc1.bias
    w2, b2 = se.fc2.weight.flatten(1), se.fc2.bias
    gate = torch.sigmoid(torch.relu(s @ w1.T + b1) @ w2.T + b2)
    torch.testing.assert_close(se(x), x * gate[:, :, None, None])


def test_se_param_count() -> None:
    c, r = 32, 4
    assert sum(p.numel() for p in SE(c, r).parameters()) == 2 * c * (c // r) + c // r + c


@pytest.mark.parametrize("gate", ["sigmoid", "hardsigmoid"])
def test_se_scales_each_channel_by_a_factor_in_unit_interval(gate: str) -> None:
    x = torch.randn(2, 8, 4, 4)
    ratio = SE(8, reduction=2, gate=gate)(x) / x  # (N, C, H, W), one gate per channel
    assert ((ratio >= 0) & (ratio <= 1)).all()
    torch.testing.assert_close(ratio, ratio[:, :, :1, :1].expand_as(ratio))


def test_se_gate_follows_create_act_and_survives_exportable_mode() -> None:
    assert isinstance(SE(8, gate="hardsigmoid").gate, HardSigmoid)
    with exportable():
        se = SE(8, act="silu", gate="hardsigmoid")
    assert isinstance(se.act, nn.Hardswish) and isinstance(se.gate, HardSigmoid)


def test_se_hidden_width_never_drops_to_zero() -> None:
    assert SE(4, reduction=16).fc1.out_channels == 1
