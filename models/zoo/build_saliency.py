"""``specks zoo build`` for a saliency recipe (``"task": "saliency"``): train the tile prior
(``models.saliency``), measure its tile ranking on held-out synthetic full frames that training
never saw, and write the slim checkpoint and the model card into the zoo."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from ..data.synth import SynthConfig
from ..saliency import SaliencyConfig, lores_scenes, train_saliency
from ..summary import count_gflops, count_params

log = logging.getLogger(__name__)


def build_saliency(recipe: dict[str, Any], workdir: str | Path, zoo_dir: Path) -> Path:
    name, work = recipe["name"], Path(workdir)
    cfg = SaliencyConfig(**{**recipe["train"], "out": str(work / "run"),
                            "input_size": tuple(recipe["train"].get("input_size", (192, 320))),
                            "frame_size": tuple(recipe["train"].get("frame_size", (1080, 1920)))})
    spec = recipe["heldout"]
    if spec["seed"] == cfg.data_seed:
        raise ValueError("the held-out seed must differ from the training data seed")
    synth = SynthConfig(width=spec["width"], height=spec["height"])
    heldout = [scene for _, scene in lores_scenes(synth, spec["images"], spec["seed"],
                                                   cfg.input_size, "held-out frames")]
    model, ckpt = model_from_checkpoint(train_saliency(cfg, heldout))
    meta = load_checkpoint(work / "run" / "last.pt")["meta"]
    card = {"name": name, "model": ckpt["model"], "task": "saliency", "config": ckpt["config"],
            "input_size": list(cfg.input_size), "params": count_params(model),
            "gflops": round(count_gflops(model, (3, *cfg.input_size)), 4),
            "train_minutes": round(meta["train_minutes"], 1), "steps": meta["step"],
            "torch_threads": torch.get_num_threads(), "recipe": recipe,
            "heldout_metrics": meta["metrics"]}
    ckpt["meta"]["card"] = card
    save_checkpoint(zoo_dir / f"{name}.pt", ckpt)
    (zoo_dir / f"{name}.card.json").write_text(json.dumps(card, indent=2) + "\n")
    (zoo_dir / f"{name}.md").write_text(_card_markdown(card))
    m = card["heldout_metrics"]
    log.info("shipped %s: tile AUC %.3f, recall@%d %.3f", name, m["auc"], m["budget"],
             m["object_recall_at_budget"])
    return zoo_dir / f"{name}.pt"


def _card_markdown(card: dict[str, Any]) -> str:
    m, h = card["heldout_metrics"], card["recipe"]["heldout"]
    height, width = card["input_size"]
    return f"""# Model card: {card['name']}

Registered net `{card['model']}` (CSNet, arXiv 2003.05643), the learned cue of the device's
tile prior (`firmware_py.sparse.prior`), trained from scratch by `specks zoo build
models/zoo/{card['name']}.recipe.json` (the recipe holds every setting and data seed). It
outputs saliency logits at its input size; the device max-pools the sigmoid over each tile.

| | |
| --- | --- |
| parameters | {card['params']:,} |
| input (H x W) | {height} x {width} (the lores frame, resized) |
| GFLOPs at {height}x{width} | {card['gflops']} |
| training time | {card['train_minutes']} min ({card['steps']} steps) on \
{card['torch_threads']} CPU thread(s) |

## Held-out synthetic frames

{h['images']} frames of {h['width']}x{h['height']} (seed {h['seed']}, objects 4-40 px, distractors
as negatives), covered by the device grid of 320 px tiles with overlap 0.2. A tile is positive
if an object lies wholly inside it, negative if none touches it (tiles cutting an object are
left out). {m['positives']} positive and {m['negatives']} negative tiles, {m['objects']} objects.

| metric | value |
| --- | --- |
| tile ROC-AUC of max-pooled saliency | {m['auc']:.3f} |
| tile recall at saliency >= {m['threshold']} | {m['recall']:.3f} |
| tile precision at saliency >= {m['threshold']} | {m['precision']:.3f} |
| tile recall of the top {m['budget']} tiles per frame | {m['tile_recall_at_budget']:.3f} |
| object recall of the top {m['budget']} tiles per frame | {m['object_recall_at_budget']:.3f} |
"""
