import json
from pathlib import Path

import pytest

from models.checkpoint import model_from_checkpoint
from models.train_config import ConfigError
from models.zoo.build import build

TINY = {
    "name": "tiny",
    "data": {"images": 6, "width": 128, "height": 128, "seed": 1, "val_fraction": 0.34},
    "heldout": {"images": 2, "width": 128, "height": 128, "seed": 2},
    "train": {"model": "specknet-pico", "epochs": 1, "steps_per_epoch": 2,
              "batch_size": 2, "tile_size": 64, "eval_tile_size": 128, "warmup_steps": 1},
}


def _write(path: Path, recipe: dict) -> Path:
    path.write_text(json.dumps(recipe))
    return path


def test_build_from_a_recipe_writes_checkpoint_and_card(tmp_path: Path) -> None:
    recipe = TINY
    path = _write(tmp_path / "tiny.recipe.json", recipe)
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    ckpt_path = build(path, tmp_path / "work", zoo_dir=zoo)
    model, ckpt = model_from_checkpoint(ckpt_path)
    assert "train_state" not in ckpt  # slim: deploy weights only
    card = json.loads((zoo / "tiny.card.json").read_text())
    assert card["recipe"] == recipe and card["params"] == sum(p.numel() for p in
                                                              model.parameters())
    assert 0.0 <= card["heldout_metrics"]["map50"] <= 1.0
    assert "mAP50" in (zoo / "tiny.md").read_text()


def test_a_run_of_the_recipe_is_adopted_and_a_run_of_another_is_refused(tmp_path: Path) -> None:
    recipe = TINY
    path = _write(tmp_path / "tiny.recipe.json", recipe)
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    build(path, tmp_path / "trained", zoo_dir=zoo)
    trained = json.loads((zoo / "tiny.card.json").read_text())
    run = tmp_path / "trained" / "run"

    build(path, tmp_path / "adopted", zoo_dir=zoo, run=run)  # data synthesised again by seed
    adopted = json.loads((zoo / "tiny.card.json").read_text())
    assert adopted["run"] == str(run) and trained["run"] is None
    adopted["heldout_metrics"].pop("pr_curve"), trained["heldout_metrics"].pop("pr_curve")
    assert adopted["heldout_metrics"] == trained["heldout_metrics"]
    assert f"--run {run}" in (zoo / "tiny.md").read_text()
    assert (zoo / "tiny.log.jsonl").read_bytes() == (run / "log.jsonl").read_bytes()

    other = _write(tmp_path / "other.recipe.json",
                   {**recipe, "train": {**recipe["train"], "lr": 0.01}})
    refusal = r"not trained by this recipe: lr 0\.003 \(recipe 0\.01\)"
    with pytest.raises(ConfigError, match=refusal):
        build(other, tmp_path / "other", zoo_dir=zoo, run=run)
    reseeded = _write(tmp_path / "reseeded.recipe.json",
                      {**recipe, "data": {**recipe["data"], "seed": 3}})
    with pytest.raises(ConfigError, match="labels are not the recipe's data"):
        build(reseeded, tmp_path / "reseeded", zoo_dir=zoo, run=run)
