"""Detector training: AdamW, warm-up + cosine, EMA, checkpoints with resume, a JSONL log.

One process or many: under ``torchrun`` (``WORLD_SIZE`` set) it trains with
``DistributedDataParallel`` (gloo on CPU, nccl on GPU) and a ``DistributedSampler``; only rank
0 logs, evaluates and writes checkpoints. Options from the papers: CSNet's dynamic weight
decay (``dwd_lambda``) for later channel pruning, and knowledge distillation from a larger
Specks checkpoint (``teacher``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from .blocks.dynamic_decay import DynamicWeightDecay, split_decay_groups
from .checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from .data.tiles import TileAugment, TileDataset, collate_fn
from .data.yolo import read_yolo
from .distill import distill_loss
from .losses.centernet import CenterNetLoss
from .registry import create_model

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything a run needs; saved into every checkpoint as the recipe."""

    data: str
    model: str = "specknet-nano"
    model_config: dict[str, Any] = field(default_factory=dict)
    loss_config: dict[str, Any] = field(default_factory=dict)  # CenterNetLoss options
    out: str = "runs/train"
    epochs: int = 30
    steps_per_epoch: int = 200  # tiles are sampled, so an "epoch" is a fixed step count
    batch_size: int = 16
    tile_size: int = 192  # the net is fully convolutional: train on small tiles, run on 320
    eval_tile_size: int = 320
    lr: float = 3e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 200
    ema_decay: float = 0.999  # ramped up over the warm-up steps
    seed: int = 0
    workers: int = 0
    object_tile_prob: float = 0.8
    augment: dict[str, Any] = field(default_factory=dict)  # TileAugment fields
    # CSNet dynamic weight decay on BN gammas (0 = off): gamma_c is decayed at
    # weight_decay * dwd_lambda * (channel c's mean |activation|), the term scaled by
    # weight_decay like every other decay here, so it never swamps the detection loss.
    dwd_lambda: float = 0.0
    teacher: str | None = None  # checkpoint of a larger Specks model to distil from
    distill_weight: float = 1.0
    resume: bool = False
    init: str | None = None  # checkpoint whose weights start the run (e.g. a pruned net)
    eval_every: int = 0  # epochs between validation mAP runs (0 = only at the end)
    max_minutes: float | None = None  # anneal within and stop (and save) at this budget
    threads: int | None = None  # torch CPU threads (None: torch's default)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class WarmupCosine:
    """LR factor: linear warm-up, then cosine to zero over the run. With a wall-clock budget
    the cosine follows whichever is further along, the steps or the clock, so a run that is
    cut by its time budget still ends annealed (at the price of step-exact reproducibility
    across machines of different speed)."""

    def __init__(self, warmup: int, total: int, budget_s: float | None = None) -> None:
        self.warmup, self.total, self.budget_s = warmup, total, budget_s
        self.start = time.monotonic()

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        if self.budget_s:
            progress = max(progress, (time.monotonic() - self.start) / self.budget_s)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _ema_ramp(decay: float, ramp_steps: int):
    """EMA whose decay ramps up as ``decay * (1 - exp(-t / ramp_steps))`` (the YOLOv5 habit),
    so a short run's average is not dominated by the random initial weights."""

    def update(ema: list[torch.Tensor], current: list[torch.Tensor], t: torch.Tensor) -> None:
        if not torch.is_floating_point(ema[0]):  # counters such as num_batches_tracked
            torch._foreach_copy_(ema, current)
            return
        d = decay * (1.0 - math.exp(-(int(t) + 1) / max(1, ramp_steps)))
        torch._foreach_lerp_(ema, current, 1.0 - d)

    return update


def _augment(fields: dict[str, Any]) -> TileAugment:
    """``TileAugment`` from a recipe's JSON (lists become the tuples it holds)."""
    return TileAugment(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def _dist_info() -> tuple[int, int]:
    if "WORLD_SIZE" in os.environ and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    """Holds the run's state; ``fit()`` trains and returns the final checkpoint path."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.rank, self.world = _dist_info()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        seed_everything(cfg.seed + self.rank)
        self.out = Path(cfg.out)
        train_set = read_yolo(cfg.data, "train")
        self.names = train_set.names
        tiles = cfg.steps_per_epoch * cfg.batch_size * self.world
        self.dataset = TileDataset(train_set.records, tile_size=cfg.tile_size,
                                   object_prob=cfg.object_tile_prob, augment=_augment(cfg.augment),
                                   tiles_per_image=math.ceil(tiles / len(train_set.records)),
                                   seed=cfg.seed, cache=True)
        self.model = create_model(cfg.model, num_classes=len(self.names), **cfg.model_config)
        if cfg.init:
            self.model.load_state_dict(load_checkpoint(cfg.init)["state_dict"])
        self.criterion = CenterNetLoss(num_classes=len(self.names), **cfg.loss_config)
        self.dwd = DynamicWeightDecay(self.model, cfg.dwd_lambda) if cfg.dwd_lambda else None
        groups = split_decay_groups(self.model, cfg.weight_decay, dynamic=self.dwd is not None)
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
        self.schedule = WarmupCosine(cfg.warmup_steps, cfg.epochs * cfg.steps_per_epoch,
                                     cfg.max_minutes * 60 if cfg.max_minutes else None)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.schedule)
        self.ema = AveragedModel(self.model, use_buffers=True,
                                 multi_avg_fn=_ema_ramp(cfg.ema_decay, cfg.warmup_steps))
        self.teacher = model_from_checkpoint(cfg.teacher)[0] if cfg.teacher else None
        self.epoch = 0
        self.step = 0
        if cfg.resume:
            self._resume()
        self.net = DistributedDataParallel(self.model) if self.world > 1 else self.model

    def _loader(self) -> DataLoader:
        sampler = (DistributedSampler(self.dataset, shuffle=True, seed=self.cfg.seed)
                   if self.world > 1 else None)
        if sampler is not None:
            sampler.set_epoch(self.epoch)
        self.dataset.set_epoch(self.epoch)
        return DataLoader(self.dataset, batch_size=self.cfg.batch_size, sampler=sampler,
                          shuffle=sampler is None, num_workers=self.cfg.workers,
                          collate_fn=collate_fn, drop_last=True)

    def _loss(self, images: torch.Tensor, targets: list[dict]) -> tuple[torch.Tensor, dict]:
        outputs = self.net(images)
        loss, parts = self.criterion(outputs, targets, image_size=images.shape[-2:])
        if self.dwd is not None:
            decay = self.cfg.weight_decay * self.dwd()
            loss = loss + decay
            parts["dwd"] = decay.detach()
        if self.teacher is not None:
            with torch.no_grad():
                teacher_out = self.teacher(images)
            kd = distill_loss(outputs, teacher_out)
            loss = loss + self.cfg.distill_weight * kd
            parts["kd"] = kd.detach()
        return loss, parts

    def _train_epoch(self, deadline: float | None) -> dict[str, float]:
        self.net.train()
        totals: dict[str, float] = {}
        bar = tqdm(islice(self._loader(), self.cfg.steps_per_epoch),
                   total=self.cfg.steps_per_epoch, disable=self.rank != 0, leave=False,
                   desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}")
        for images, targets in bar:
            loss, parts = self._loss(images, targets)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
            self.optimizer.step()
            self.scheduler.step()
            self.ema.update_parameters(self.model)
            self.step += 1
            for k, v in {"loss": loss.detach(), **parts}.items():
                totals[k] = totals.get(k, 0.0) + float(v)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}",
                            lr=f"{self.scheduler.get_last_lr()[0]:.1e}")
            if deadline is not None and time.monotonic() > deadline:
                break
        n = max(1, bar.n)
        return {k: v / n for k, v in totals.items()}

    def _payload(self, metrics: dict[str, Any]) -> dict[str, Any]:
        config = {"num_classes": len(self.names), **self.cfg.model_config}
        return {
            "model": self.cfg.model, "config": config,
            "state_dict": self.ema.module.state_dict(),
            "meta": {"epoch": self.epoch, "step": self.step, "names": list(self.names),
                     "recipe": asdict(self.cfg), "metrics": metrics,
                     "tile_size": self.cfg.eval_tile_size},
            "train_state": {"model": self.model.state_dict(), "ema": self.ema.state_dict(),
                            "optimizer": self.optimizer.state_dict(),
                            "scheduler": self.scheduler.state_dict()},
        }

    def _resume(self) -> None:
        path = self.out / "last.pt"
        ckpt = load_checkpoint(path)
        state = ckpt["train_state"]
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.schedule.start = time.monotonic()  # the clock restarts with the process
        self.epoch, self.step = ckpt["meta"]["epoch"], ckpt["meta"]["step"]
        log.info("resumed from %s at epoch %d", path, self.epoch)

    def _log(self, row: dict[str, Any]) -> None:
        with open(self.out / "log.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")

    def fit(self) -> Path:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        deadline = start + cfg.max_minutes * 60 if cfg.max_minutes else None
        metrics: dict[str, Any] = {}
        while self.epoch < cfg.epochs:
            losses = self._train_epoch(deadline)
            self.epoch += 1
            if self.rank == 0:
                row = {"epoch": self.epoch, "step": self.step,
                       "lr": self.scheduler.get_last_lr()[0],
                       "elapsed_s": round(time.monotonic() - start, 1), **losses}
                if cfg.eval_every and self.epoch % cfg.eval_every == 0:
                    row.update(self.validate())
                self._log(row)
                log.info("epoch %d/%d %s", self.epoch, cfg.epochs,
                         " ".join(f"{k}={v:.4g}" for k, v in losses.items()))
                save_checkpoint(self.out / "last.pt", self._payload(metrics))
            if deadline is not None and time.monotonic() > deadline:
                log.warning("time budget of %.1f min spent after epoch %d", cfg.max_minutes,
                            self.epoch)
                break
        if self.rank == 0:
            metrics = self.validate()
            self._log({"epoch": self.epoch, "final": True, **metrics})
            save_checkpoint(self.out / "last.pt", self._payload(metrics))
        return self.out / "last.pt"

    def validate(self) -> dict[str, float]:
        from .validate import evaluate_detector

        val = read_yolo(self.cfg.data, "val")
        result = evaluate_detector(self.ema.module, val.records, val.names,
                                   tile_size=self.cfg.eval_tile_size)
        return {"mAP50": result.map50, "mAP50_95": result.map50_95, "AP_small": result.ap_small}


def train(cfg: TrainConfig) -> Path:
    return Trainer(cfg).fit()
