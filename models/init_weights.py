"""Start a run from trained weights (``specks train --init``): the shipped weights (``zoo``), any
Specks checkpoint, or none.

Fine-tuning a detector on a user's dataset is transfer learning in the usual form (Girshick et
al., "Rich feature hierarchies", arXiv 1311.2524, Sec. 2.3; Yosinski et al., arXiv 1411.1792):
every tensor of the trained net is kept except the class-specific output layer, which is
re-initialised for the new classes. Here that layer is the CenterNet heatmap's prediction conv
(``head.heatmap.pred``), re-initialised as at construction: weights N(0, 0.01) and the focal-loss
prior bias ``-log((1 - 0.1) / 0.1)`` (CenterNet, arXiv 1904.07850, after RetinaNet, arXiv
1708.02002, Sec. 4.1), so training starts from "about 0.1 everywhere", not from another
dataset's confident classes.

Choices:

- The net is the checkpoint's (its registered name and constructor options), with the number
  of classes of the data; options given explicitly (``model_config``) override the
  checkpoint's, and an explicit ``--model`` that differs from it is refused in one line.
- A class whose name is in the checkpoint keeps its row of the heatmap prediction (a user set
  of birds and kites keeps "bird"); classes new to the net start fresh. Same names in the
  same order: the whole head is kept.
- Any other tensor that is missing, unexpected or of another shape is an error naming it:
  a checkpoint of another architecture must not half-load silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .heads.centernet import CenterNetHead
from .train_config import ConfigError
from .zoo import ZOO_DIR, default_checkpoint

log = logging.getLogger(__name__)

ZOO, NONE = "zoo", "none"


def shipped_detectors() -> list[str]:
    """Nets the zoo ships weights for."""
    return sorted(p.stem for p in ZOO_DIR.glob("specknet-*.pt"))


def init_path(init: str | None, model: str) -> Path | None:
    """The checkpoint an ``init`` value names (``None``/``"none"``: from scratch)."""
    if init is None or init.lower() == NONE:
        return None
    if init.lower() == ZOO:
        path = default_checkpoint(model)
        if not path.is_file():
            raise ConfigError(f"--init zoo: no shipped weights for {model} (the zoo ships "
                              f"{', '.join(shipped_detectors())}); use --init none to train "
                              "from scratch, or a checkpoint")
        return path
    return Path(init)


def net_of(ckpt: dict[str, Any], source: Path, model: str, model_given: bool,
           net_config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The registered name and options (without ``num_classes``) of the net to build for an
    init checkpoint: the checkpoint's, with explicit options over them."""
    if model_given and model != ckpt["model"]:
        raise ConfigError(f"--model {model} does not match the net of the init checkpoint "
                          f"{source} ({ckpt['model']}); drop --model, or use --init none")
    config = {k: v for k, v in ckpt["config"].items() if k != "num_classes"}
    return ckpt["model"], {**config, **net_config}


@dataclass
class InitReport:
    """What was taken from the init checkpoint."""

    source: Path
    kept: int
    total: int
    classes_kept: list[str] = field(default_factory=list)
    classes_new: list[str] = field(default_factory=list)

    def line(self) -> str:
        head = ("class head kept" if not self.classes_new else
                f"class head re-initialised for {', '.join(self.classes_new)}"
                + (f" (kept for {', '.join(self.classes_kept)})" if self.classes_kept else ""))
        return f"init from {self.source}: kept {self.kept} of {self.total} tensors; {head}"


def class_head_keys(model: nn.Module) -> tuple[str, ...]:
    """State-dict keys of the class-specific prediction conv (empty for nets without one)."""
    for name, module in model.named_modules():
        if isinstance(module, CenterNetHead):
            prefix = f"{name}.heatmap.pred." if name else "heatmap.pred."
            return (prefix + "weight", prefix + "bias")
    return ()


def _check_fits(dst: dict[str, torch.Tensor], src: dict[str, torch.Tensor], skip: set[str],
                source: Path) -> None:
    problems = [f"{k} missing" for k in dst if k not in src and k not in skip]
    problems += [f"{k} unexpected" for k in src if k not in dst and k not in skip]
    problems += [f"{k} {list(src[k].shape)} vs {list(v.shape)}" for k, v in dst.items()
                 if k in src and k not in skip and src[k].shape != v.shape]
    problems += [f"{k} {list(src[k].shape)} vs {list(dst[k].shape)}" for k in skip
                 if k not in src or src[k].shape[1:] != dst[k].shape[1:]]
    if problems:
        raise ConfigError(f"init checkpoint {source} does not fit this net: {len(problems)} "
                          f"tensors differ ({'; '.join(problems[:3])}); use --init none or a "
                          "checkpoint of the same net")


@torch.no_grad()
def load_init(model: nn.Module, ckpt: dict[str, Any], names: Sequence[str],
              source: Path) -> InitReport:
    """Copy ``ckpt``'s weights into ``model`` (freshly built for ``names``), keeping the class
    head's rows of classes the checkpoint knows by name."""
    src, dst = ckpt["state_dict"], model.state_dict()
    head = set(class_head_keys(model))
    _check_fits(dst, src, head, source)
    state = {k: src[k] for k in dst if k not in head}
    old = list(ckpt.get("meta", {}).get("names") or [])
    same = list(names) == old and all(src[k].shape == dst[k].shape for k in head)
    kept_classes = list(names) if same else [n for n in names if n in old]
    for key in head:
        rows = dst[key].clone()  # fresh: N(0, 0.01) weights, prior bias
        for name in kept_classes:
            rows[list(names).index(name)] = src[key][old.index(name)]
        state[key] = rows
    model.load_state_dict(state)
    kept = len(dst) - (0 if len(kept_classes) == len(names) else len(head))
    return InitReport(source, kept, len(dst), kept_classes,
                      [n for n in names if n not in kept_classes])
