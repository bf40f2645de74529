"""Checkpoints: plain dicts of tensors and JSON-able metadata, loaded with ``weights_only``.

Format (also what ``specks export`` reads)::

    {"model": registered name, "config": overrides for create_model,
     "state_dict": weights to deploy (the EMA weights when EMA is on),
     "meta": {"epoch", "recipe", "metrics", ...},
     "train_state": optional {"model", "ema", "optimizer", "scheduler", "step"} for resume}
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from firmware_py.atomic import atomic_path

from .registry import create_model


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write atomically (``firmware_py.atomic``): an interrupted save never leaves a torn file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model", "config", "state_dict"):
        if key not in ckpt:
            raise ValueError(f"{path}: not a Specks checkpoint (missing {key!r})")
    return ckpt


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the registered net named in the checkpoint and load its deploy weights."""
    ckpt = load_checkpoint(path)
    model = create_model(ckpt["model"], **ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
