"""Fine-tuning from the shipped weights onto a dataset with other classes."""

import math

import pytest
import torch

from models.checkpoint import load_checkpoint
from models.init_weights import class_head_keys, init_path, load_init, net_of
from models.registry import create_model
from models.train_config import ConfigError
from models.zoo import default_checkpoint

ZOO = default_checkpoint()
PRIOR_BIAS = -math.log((1 - 0.1) / 0.1)


def _zoo_net(names: list[str]) -> tuple[torch.nn.Module, dict]:
    ckpt = load_checkpoint(ZOO)
    name, config = net_of(ckpt, ZOO, "specknet-nano", False, {})
    return create_model(name, num_classes=len(names), **config), ckpt


def test_zoo_resolves_to_the_shipped_weights_and_none_to_scratch() -> None:
    assert init_path("zoo", "specknet-nano") == ZOO
    assert init_path(None, "specknet-nano") is None and init_path("none", "x") is None
    with pytest.raises(ConfigError, match="no shipped weights for specknet-pico"):
        init_path("zoo", "specknet-pico")


def test_one_class_dataset_keeps_every_tensor_but_the_class_head() -> None:
    model, ckpt = _zoo_net(["plane"])
    report = load_init(model, ckpt, ["plane"], ZOO)
    state, src = model.state_dict(), ckpt["state_dict"]
    head = class_head_keys(model)
    assert head == ("head.heatmap.pred.weight", "head.heatmap.pred.bias")
    for key, value in state.items():
        if key not in head:
            torch.testing.assert_close(value, src[key])
    assert state[head[0]].shape == (1, 48, 1, 1)
    torch.testing.assert_close(state[head[1]], torch.full((1,), PRIOR_BIAS))  # focal prior
    assert float(state[head[0]].std()) < 0.02  # N(0, 0.01), not a trained row
    assert report.kept == report.total - 2 and report.classes_new == ["plane"]
    assert "re-initialised for plane" in report.line()


def test_classes_known_by_name_keep_their_row() -> None:
    model, ckpt = _zoo_net(["kite", "bird"])
    report = load_init(model, ckpt, ["kite", "bird"], ZOO)
    bird = ckpt["meta"]["names"].index("bird")
    bias = model.state_dict()["head.heatmap.pred.bias"]
    assert bias[1] == ckpt["state_dict"]["head.heatmap.pred.bias"][bird]
    assert bias[0] == pytest.approx(PRIOR_BIAS)
    assert report.classes_kept == ["bird"] and report.classes_new == ["kite"]


def test_same_classes_keep_the_whole_head() -> None:
    names = load_checkpoint(ZOO)["meta"]["names"]
    model, ckpt = _zoo_net(names)
    report = load_init(model, ckpt, names, ZOO)
    assert report.kept == report.total and report.line().endswith("class head kept")


def test_another_architecture_is_refused_naming_tensors() -> None:
    model = create_model("specknet-pico", num_classes=1)
    with pytest.raises(ConfigError, match=r"does not fit this net: \d+ tensors differ \(blocks"):
        load_init(model, load_checkpoint(ZOO), ["plane"], ZOO)


def test_an_explicit_model_that_differs_from_the_checkpoint_is_refused() -> None:
    with pytest.raises(ConfigError, match="--model specknet-small does not match"):
        net_of(load_checkpoint(ZOO), ZOO, "specknet-small", True, {})
    name, config = net_of(load_checkpoint(ZOO), ZOO, "specknet-small", False, {"x": 1})
    assert name == "specknet-nano" and config == {"head_act": "leaky_relu", "x": 1}
