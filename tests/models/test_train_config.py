"""Training configs and recipes: the shipped recipe is a starting point; mistakes are one line."""

import json
from pathlib import Path

import pytest

from models.train_config import ConfigError, TrainConfig, load_recipe, make_config
from models.zoo import ZOO_DIR


def test_the_shipped_recipe_train_section_is_a_config() -> None:
    values, label = load_recipe(ZOO_DIR / "specknet-nano.recipe.json")
    assert label.endswith("specknet-nano.recipe.json [train]")
    cfg = make_config({**values, "data": "d.yaml"}, label)
    assert cfg.net_config == {"head_act": "leaky_relu"} and cfg.max_minutes == values["max_minutes"]
    assert cfg.recipe()["model_config"] == {"head_act": "leaky_relu"}


def test_a_flat_recipe_round_trips_through_a_checkpoint_recipe(tmp_path: Path) -> None:
    cfg = TrainConfig(data="d.yaml", lr=0.01, model_config={"head_act": "relu"})
    path = tmp_path / "r.json"
    path.write_text(json.dumps(cfg.recipe()))
    values, label = load_recipe(path)
    assert make_config(values, label) == cfg and label == str(path)


def test_unknown_or_out_of_range_fields_name_the_source_and_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        make_config({"data": "d", "name": "x", "lr": -1}, "recipe r.json")
    line = str(error.value)
    assert "\n" not in line and line.startswith("recipe r.json: ")
    assert "field 'lr'" in line and "field 'name': Extra inputs" in line


def test_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"lr": 0.1,\n "epochs": }')
    with pytest.raises(ConfigError, match=r"r.json:2: bad JSON"):
        load_recipe(path)
    with pytest.raises(FileNotFoundError, match="recipe .* does not exist"):
        load_recipe(tmp_path / "missing.json")
