"""Host commands report bad input in one line and exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from models.data.synth import SynthConfig, write_dataset
from models.data.yolo import write_data_yaml
from models.zoo import ZOO_DIR


def _specks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "firmware_py.cli", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})


def _one_class_set(root: Path) -> Path:
    """A synthetic set relabelled to one class the shipped net does not know."""
    write_dataset(root, SynthConfig(width=128, height=128, objects=(2, 4), background_prob=0.0),
                  images=6, seed=0, val_fraction=0.34)
    for label in root.glob("labels/*/*.txt"):
        label.write_text("".join("0" + line[1:] + "\n"
                                 for line in label.read_text().splitlines()))
    return write_data_yaml(root, ["plane"])


def test_fine_tune_from_the_shipped_recipe_on_a_one_class_set(tmp_path: Path) -> None:
    data = _one_class_set(tmp_path / "data")
    done = _specks("train", "--recipe", "models/zoo/specknet-nano.recipe.json", "--data",
                   str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                   "--steps-per-epoch", "2", "--batch-size", "2", "--tile-size", "64",
                   "--eval-tile-size", "128", "--max-minutes", "5", "--threads", "1")
    assert done.returncode == 0, done.stderr
    log = done.stderr
    assert "specknet-nano.recipe.json [train]; the command line overrides" in log
    recipe = json.loads((ZOO_DIR / "specknet-nano.recipe.json").read_text())["train"]
    assert f"max_minutes=5.0 (recipe: {recipe['max_minutes']})" in log
    assert f"epochs=1 (recipe: {recipe['epochs']})" in log
    assert "init from" in log and "class head re-initialised for plane" in log
    last = [line for line in log.splitlines() if "done in" in line][-1]
    assert "best.pt" in last and "mAP50" in last and "AP_small" in last
    assert (tmp_path / "run" / "best.pt").is_file() and (tmp_path / "run" / "last.pt").is_file()
    assert "Traceback" not in log


def test_a_recipe_with_an_unknown_field_is_one_line(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"train": {"lr": 0.01, "warmup": 3}}))
    done = _specks("train", "--recipe", str(recipe), "--data", "d.yaml")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and "field 'warmup': Extra inputs" in lines[-1]
    assert lines[-1].count("\n") == 0 and "r.json [train]" in lines[-1]
