"""Fuzzing the recipe parser (Hypothesis): the shipped recipe with fields changed, added or of
the wrong type, or any bytes at all, as ``specks train --recipe`` reads it (``load_recipe``,
then ``make_config``), is accepted or refused with one line; never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from models.train_config import ConfigError, TrainConfig, load_recipe, make_config
from tests.firmware_py.fuzz import FUZZ, edited, one_line

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = json.loads((ROOT / "models/zoo/specknet-nano.recipe.json").read_text())


def _check(content: bytes) -> TrainConfig | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recipe.json"
        path.write_bytes(content)

        def read() -> TrainConfig:
            values, label = load_recipe(path)
            return make_config({**values, "data": "data.yaml"}, label)

        return one_line(read, (ConfigError, ValueError))


def test_the_shipped_recipe_is_valid() -> None:
    config = _check(json.dumps(SHIPPED).encode())
    assert config is not None and config.model == SHIPPED["train"]["model"]


@FUZZ
@given(edited(SHIPPED, ("train", "model", "epochs", "lr", "model_config", "extra")))
def test_an_edited_recipe_loads_or_is_refused_in_one_line(tree: dict) -> None:
    _check(json.dumps(tree).encode())


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=80).map(str.encode))
def test_any_bytes_load_or_are_refused_in_one_line(data: bytes) -> None:
    _check(data)
