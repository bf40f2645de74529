"""Rebuild a shipped model from its recipe, in one command: synthesise the data (seeded),
train, evaluate on a held-out split that training never saw (neither for fitting nor for
choosing a checkpoint), and write the slim checkpoint and the model card into the zoo.

A recipe with ``"task": "saliency"`` is the tile prior (``models.saliency``): its ``train``
block is a :class:`~models.saliency.SaliencyConfig` (which synthesises its own frames) and its
``heldout`` block the full frames the tile metrics are measured on."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoint import model_from_checkpoint, save_checkpoint
from ..data.synth import SynthConfig, write_dataset
from ..data.yolo import read_yolo
from ..registry import model_record
from ..summary import count_gflops, count_params
from ..train import train
from ..train_config import ConfigError, TrainConfig, make_config
from ..validate import evaluate_detector
from . import ZOO_DIR

log = logging.getLogger(__name__)


def _synth(out: Path, spec: dict[str, Any], val_fraction: float) -> Path:
    cfg = SynthConfig(width=spec["width"], height=spec["height"], photos=spec.get("photos", 0.0))
    return write_dataset(out, cfg, images=spec["images"], seed=spec["seed"],
                         val_fraction=val_fraction)


def _labels(data_yaml: Path) -> dict[str, bytes]:
    """Every label file of a YOLO-layout dataset, by path under its ``labels`` folder."""
    root = data_yaml.parent / "labels"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.txt"))}


def _adopt(run: Path, cfg: TrainConfig) -> tuple[nn.Module, dict[str, Any], float]:
    """``best.pt`` of a run that ``specks train --recipe`` made, and its minutes, once its
    recorded config equals the recipe's (but for the data and run paths) and its data has the
    recipe's labels: a run trained in the background ships as if ``build`` had trained it."""
    best = run / "best.pt"
    if not best.is_file():
        raise ConfigError(f"run {run}: no best.pt")
    model, ckpt = model_from_checkpoint(best)
    recorded = dict(ckpt["meta"]["recipe"])
    wanted = cfg.recipe()
    if str(recorded.get("init")).lower() == "none":
        recorded["init"] = None  # `--init none`: from scratch, as the recipe's None
    differ = [f"{k} {recorded.get(k)!r} (recipe {v!r})" for k, v in wanted.items()
              if k not in ("data", "out") and recorded.get(k) != v]
    if differ:
        raise ConfigError(f"run {run} was not trained by this recipe: {'; '.join(differ)}")
    if _labels(Path(recorded["data"])) != _labels(Path(cfg.data)):
        raise ConfigError(f"run {run} trained on {recorded['data']}, whose labels are not the "
                          f"recipe's data")
    final = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    total_s = next(row["total_s"] for row in reversed(final) if row.get("final"))
    return model, ckpt, total_s / 60


def build(recipe_path: str | Path, workdir: str | Path, zoo_dir: Path = ZOO_DIR,
          run: str | Path | None = None) -> Path:
    """Train by the recipe (or adopt ``run``, trained by it; :func:`_adopt`), score the
    held-out split and ship the checkpoint and card."""
    recipe = json.loads(Path(recipe_path).read_text())
    if recipe.get("task") == "saliency":
        from .build_saliency import build_saliency

        return build_saliency(recipe, workdir, zoo_dir)
    name, work = recipe["name"], Path(workdir)
    data = _synth(work / "data", recipe["data"], recipe["data"]["val_fraction"])
    heldout = _synth(work / "heldout", recipe["heldout"], val_fraction=1.0)
    start = time.monotonic()
    cfg = make_config({**recipe["train"], "data": str(data), "out": str(work / "run")},
                      f"recipe {recipe_path} [train]")
    if run is None:
        # best of the run's validations on its val split, never the held-out
        model, ckpt = model_from_checkpoint(train(cfg))
        minutes = (time.monotonic() - start) / 60
    else:
        model, ckpt, minutes = _adopt(Path(run), cfg)
    test = read_yolo(heldout, "val")
    metrics = evaluate_detector(model, test.records, test.names, out_dir=work / "heldout-eval")
    input_size = model_record(ckpt["model"]).input_size
    card = {"name": name, "model": ckpt["model"], "config": ckpt["config"],
            "labels": list(test.names), "tile_size": recipe["train"]["eval_tile_size"],
            "params": count_params(model), "gflops": round(count_gflops(model, input_size), 4),
            "train_minutes": round(minutes, 1),
            "torch_threads": cfg.threads or torch.get_num_threads(),
            "recipe": recipe, "run": None if run is None else str(run),
            "heldout_metrics": metrics.to_dict()}
    shutil.copyfile(Path(run or work / "run") / "log.jsonl", zoo_dir / f"{name}.log.jsonl")
    ckpt.pop("train_state", None)
    ckpt["meta"]["card"] = card
    save_checkpoint(zoo_dir / f"{name}.pt", ckpt)
    (zoo_dir / f"{name}.card.json").write_text(json.dumps(card, indent=2) + "\n")
    (zoo_dir / f"{name}.md").write_text(_card_markdown(card))
    log.info("shipped %s: mAP50 %.3f AP_small %.3f", name, metrics.map50, metrics.ap_small)
    return zoo_dir / f"{name}.pt"


def _card_markdown(card: dict[str, Any]) -> str:
    m = card["heldout_metrics"]
    adopted = "" if not card.get("run") else (
        f"\nThis one trained as `specks train --recipe` into `{card['run']}` (the same config and "
        f"data), adopted by `specks zoo build --run {card['run']}`.")
    adopted += (f"\nIts training log (loss and validation by step) ships beside this card: "
                f"`{card['name']}.log.jsonl`.")
    rows = "\n".join(f"| {c['name']} | {c['num_gt']} | {c['ap50']:.3f} | {c['ap']:.3f} |"
                     for c in m["per_class"])
    return f"""# Model card: {card['name']}

Registered net `{card['model']}`, trained from scratch by `specks zoo build
models/zoo/{card['name']}.recipe.json` (the recipe holds every setting and data seed).{adopted}

| | |
| --- | --- |
| parameters | {card['params']:,} |
| GFLOPs at {card['tile_size']}x{card['tile_size']} | {card['gflops']} |
| classes | {', '.join(card['labels'])} |
| training time | {card['train_minutes']} min on {card['torch_threads']} CPU threads |

## Held-out synthetic split

{card['recipe']['heldout']['images']} images of {card['recipe']['heldout']['width']}x\
{card['recipe']['heldout']['height']} (seed {card['recipe']['heldout']['seed']}, objects
4-40 px), sliced into {card['tile_size']} px tiles, merged, scored by faster-coco-eval.

| metric | value |
| --- | --- |
| mAP50 | {m['map50']:.3f} |
| mAP50-95 | {m['map50_95']:.3f} |
| AP_small | {m['ap_small']:.3f} |

| class | objects | AP50 | AP50-95 |
| --- | --- | --- | --- |
{rows}
"""
