import json
from pathlib import Path

from models.checkpoint import model_from_checkpoint
from models.zoo.build import build


def test_build_from_a_recipe_writes_checkpoint_and_card(tmp_path: Path) -> None:
    recipe = {
        "name": "tiny",
        "data": {"images": 6, "width": 128, "height": 128, "seed": 1, "val_fraction": 0.34},
        "heldout": {"images": 2, "width": 128, "height": 128, "seed": 2},
        "train": {"model": "specknet-pico", "epochs": 1, "steps_per_epoch": 2,
                  "batch_size": 2, "tile_size": 64, "eval_tile_size": 128, "warmup_steps": 1},
    }
    path = tmp_path / "tiny.recipe.json"
    path.write_text(json.dumps(recipe))
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
