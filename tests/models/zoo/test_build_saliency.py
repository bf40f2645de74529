import json
from pathlib import Path

from models.checkpoint import model_from_checkpoint
from models.zoo.build import build


def test_a_saliency_recipe_trains_the_prior_and_writes_its_card(tmp_path: Path) -> None:
    recipe = {
        "name": "tiny-prior", "task": "saliency",
        "heldout": {"images": 2, "width": 640, "height": 360, "seed": 2},
        "train": {"model": "csnet-prior", "model_config": {"basewidth": 4},
                  "input_size": [64, 96], "frame_size": [360, 640], "frames": 3,
                  "data_seed": 1, "crop": 32, "steps": 2, "batch_size": 2, "warmup_steps": 1},
    }
    path = tmp_path / "tiny-prior.recipe.json"
    path.write_text(json.dumps(recipe))
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    model, ckpt = model_from_checkpoint(build(path, tmp_path / "work", zoo_dir=zoo))
    card = json.loads((zoo / "tiny-prior.card.json").read_text())
    assert card["recipe"] == recipe and card["task"] == "saliency"
    assert card["params"] == sum(p.numel() for p in model.parameters())
    assert 0.0 <= card["heldout_metrics"]["auc"] <= 1.0
    assert card["heldout_metrics"]["frames"] == 2
    assert "ROC-AUC" in (zoo / "tiny-prior.md").read_text()
