"""What a training run needs (:class:`TrainConfig`), and recipes: JSON files that hold one.

A recipe is either a shipped model's recipe (``models/zoo/<name>.recipe.json``: its ``train``
section is the config; ``name``, ``data`` and ``heldout`` belong to ``specks zoo build``) or a
flat mapping of config fields (a checkpoint's ``meta.recipe``, or a file of your own). Unknown
fields are refused with one line naming the file and the field (pydantic, ``extra="forbid"``).

The field ``model_config`` (the net's constructor options) clashes with pydantic's own class
attribute, so it lives in ``net_config`` with ``model_config`` as its alias: recipes, the
command line and checkpoints all spell it ``model_config``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

BestMetric = Literal["mAP50_95", "mAP50", "AP_small"]


class TrainConfig(BaseModel):
    """Everything a run needs; saved into every checkpoint as the recipe."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    data: str = Field(..., min_length=1, description="data.yaml of a YOLO-layout dataset")
    model: str = Field("specknet-nano", description="registered net (`specks models`)")
    net_config: dict[str, Any] = Field(default_factory=dict, alias="model_config",
                                       description="options of the net's constructor")
    loss_config: dict[str, Any] = Field(default_factory=dict,
                                        description="CenterNetLoss options")
    out: str = Field("runs/train", description="run directory: checkpoints, log.jsonl")
    epochs: int = Field(30, ge=1, le=100_000, description="epochs of steps_per_epoch steps")
    steps_per_epoch: int = Field(200, ge=1, le=1_000_000, description="tiles are sampled, "
                                 "so an epoch is a fixed number of steps")
    batch_size: int = Field(16, ge=1, le=4096, description="tiles per step (per process)")
    tile_size: int = Field(192, ge=16, le=4096, description="training tile side (the net "
                           "is fully convolutional: train on small tiles, run on larger)")
    eval_tile_size: int = Field(320, ge=16, le=4096, description="tile side of validation "
                                "and of the deployed grid")
    lr: float = Field(3e-3, gt=0, le=1, description="peak AdamW learning rate")
    weight_decay: float = Field(5e-4, ge=0, le=1, description="AdamW weight decay")
    warmup_steps: int = Field(200, ge=0, le=1_000_000, description="linear warm-up in steps; "
                              "under max_minutes it ends at the same fraction of the time "
                              "budget if the clock gets there first")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="EMA decay (ramped up over "
                             "warmup_steps)")
    seed: int = Field(0, ge=0, description="seed of weights, tiles and order")
    workers: int = Field(0, ge=0, le=64, description="DataLoader worker processes")
    object_tile_prob: float = Field(0.8, ge=0, le=1, description="share of tiles placed "
                                    "around an object")
    augment: dict[str, Any] = Field(default_factory=dict, description="TileAugment fields")
    dwd_lambda: float = Field(0.0, ge=0, le=1e6, description="CSNet dynamic weight decay on "
                              "BN gammas, scaled by weight_decay (0 = off)")
    teacher: str | None = Field(None, description="checkpoint of a larger Specks model to "
                                "distil from")
    distill_weight: float = Field(1.0, ge=0, le=1e3, description="weight of the KD term")
    resume: bool = Field(False, description="continue from out/last.pt")
    init: str | None = Field(None, description="weights that start the run: a checkpoint, "
                             "'zoo' (the shipped weights of the net), or None (from scratch); "
                             "a class head that does not fit the data is re-initialised")
    eval_every: int = Field(0, ge=0, le=100_000, description="epochs between validations "
                            "that pick best.pt; 0: automatic (at most every tenth of the run, "
                            "and validation at most a tenth of the time)")
    best_metric: BestMetric = Field("mAP50_95", description="validation metric that picks "
                                    "best.pt")
    max_minutes: float | None = Field(None, gt=0, le=100_000, description="wall-clock budget "
                                      "for the whole run, final evaluation included; the LR "
                                      "schedule anneals within it")
    threads: int | None = Field(None, ge=1, le=1024, description="torch CPU threads (None: "
                                "torch's default)")

    def recipe(self) -> dict[str, Any]:
        """JSON-ready fields under their recipe names (``model_config``)."""
        return self.model_dump(mode="json", by_alias=True)


class ConfigError(ValueError):
    """A bad recipe or option, in one line naming its source and field."""


def describe(error: ValidationError, source: str) -> str:
    """One line for every bad field of a :class:`TrainConfig`."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(config)"
        parts.append(f"field '{field}': {item['msg']}")
    text = "; ".join(parts)
    return f"{source}: " + (text if text.isprintable() else repr(text))


def make_config(values: dict[str, Any], source: str) -> TrainConfig:
    """:class:`TrainConfig` of ``values``; :class:`ConfigError` names ``source`` and field."""
    try:
        return TrainConfig.model_validate(values)
    except ValidationError as error:
        raise ConfigError(describe(error, source)) from None


def load_recipe(path: str | Path) -> tuple[dict[str, Any], str]:
    """The config fields a recipe file holds, and a label for log lines (``path`` or
    ``path [train]``). Fields are checked when merged into a config (:func:`make_config`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe {path} does not exist")
    try:
        recipe = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"recipe {path}:{error.lineno}: bad JSON: {error.msg}") from None
    if not isinstance(recipe, dict):
        raise ConfigError(f"recipe {path}: expected a JSON object of TrainConfig fields")
    if "train" in recipe:
        if not isinstance(recipe["train"], dict):
            raise ConfigError(f"recipe {path}: 'train' must be an object of TrainConfig fields")
        return dict(recipe["train"]), f"{path} [train]"
    return recipe, str(path)
