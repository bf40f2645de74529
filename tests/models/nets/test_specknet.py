import pytest
import torch

from models.registry import create_model, model_record
from models.summary import count_gflops, count_params


@pytest.mark.parametrize("name", ["specknet-pico", "specknet-nano", "specknet-small"])
def test_outputs_at_stride_4(name: str) -> None:
    model = create_model(name, num_classes=3).eval()
    with torch.no_grad():
        heat, size, offset = model(torch.rand(1, 3, 320, 320))
    assert heat.shape == (1, 3, 80, 80)
    assert size.shape == offset.shape == (1, 2, 80, 80)
    assert float(heat.min()) >= 0 and float(heat.max()) <= 1  # eval: probabilities


def test_nano_meets_its_budget() -> None:
    model = create_model("specknet-nano")
    assert count_params(model) <= 300_000
    assert count_gflops(model, model_record("specknet-nano").input_size) <= 0.5


def test_presets_grow_in_size() -> None:
    sizes = [count_params(create_model(f"specknet-{p}")) for p in ("pico", "nano", "small")]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3


def test_hidden_override_sets_every_expanded_width() -> None:
    model = create_model("specknet-nano")
    hidden = [b.dw.conv.out_channels - 4 for b in model.blocks]
    pruned = create_model("specknet-nano", hidden=hidden)
    assert [b.dw.conv.out_channels for b in pruned.blocks] == hidden
    with pytest.raises(ValueError, match="widths for"):
        create_model("specknet-nano", hidden=hidden[:-1])
