import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.blocks.config import exportable, is_exportable
from models.blocks.create_act import HardSigmoid, create_act, get_act_layer
from models.blocks.create_norm import create_norm


def test_hardsigmoid_matches_torch() -> None:
    x = torch.linspace(-5, 5, 1001)
    torch.testing.assert_close(HardSigmoid()(x), F.hardsigmoid(x), atol=1e-6, rtol=0)


def test_exportable_switch_swaps_only_unsafe_activations() -> None:
    assert get_act_layer("silu") is nn.SiLU
    with exportable():
        assert is_exportable()
        assert get_act_layer("silu") is nn.Hardswish
        assert get_act_layer("gelu") is nn.Hardswish
        assert get_act_layer("relu6") is nn.ReLU6
    assert not is_exportable()


def test_prelu_gets_one_slope_per_channel() -> None:
    assert create_act("prelu", 12).weight.numel() == 12


def test_leaky_relu_has_yolo_slope() -> None:
    act = create_act("leaky_relu")
    x = torch.tensor([-2.0, 3.0])
    torch.testing.assert_close(act(x), torch.tensor([-0.2, 3.0]))


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown activation"):
        get_act_layer("swoosh")
    with pytest.raises(ValueError, match="unknown norm"):
        create_norm("layernorm3d", 4)
