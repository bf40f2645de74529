"""Detector training: AdamW, warm-up + cosine over the run's progress, EMA, a time budget that
holds the final evaluation, validation that keeps the best checkpoint, resume, a JSONL log.

One process or many: under ``torchrun`` (``WORLD_SIZE`` set) it trains with
``DistributedDataParallel`` (gloo on CPU, nccl on GPU) and a ``DistributedSampler``; only rank
0 logs, validates and writes checkpoints, and rank 0's clock drives every rank's schedule and
stop (one broadcast per step), so the ranks never disagree on the LR or the last step. Options
from the papers: CSNet's dynamic weight decay (``dwd_lambda``) for later channel pruning,
knowledge distillation from a larger Specks checkpoint (``teacher``), and fine-tuning from
trained weights with a new class head (``init``, :mod:`models.init_weights`).

Large images are never downscaled: training samples tiles of them (:mod:`models.data.tiles`)
and validation slices them into the deployed tile grid (:mod:`models.validate`).

In ``out``: ``last.pt`` (every epoch, with the optimizer state for ``resume``), ``best.pt``
(the deploy weights of the validation with the best ``best_metric``) and ``log.jsonl``. With
``eval_every`` 0 the validations space themselves, between any two steps: at most every tenth
of the run's progress, and only when the time since the last one is at least nine times what
one takes (so they cost at most a tenth of the run). Progress is one bar over the run's steps
whose total, under a time budget, is re-planned from the measured step time, so its estimate
is honest; each epoch logs a line with the time left. The run ends with one line saying what
the user got.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Callable
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
from tqdm.contrib.logging import logging_redirect_tqdm

from .blocks.dynamic_decay import DynamicWeightDecay, split_decay_groups
from .budget import TimeBudget
from .checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from .data.tiles import TileAugment, TileDataset, collate_fn
from .data.yolo import read_yolo
from .distill import distill_loss
from .init_weights import init_path, load_init, net_of
from .losses.centernet import CenterNetLoss
from .registry import create_model
from .schedule import WarmupCosine
from .train_config import ConfigError, TrainConfig

log = logging.getLogger(__name__)

AUTO_SPACING = 0.1  # automatic validations: at least this much progress apart
AUTO_SHARE = 0.1  # ... and at most this share of the time


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
    try:
        return TileAugment(**{k: tuple(v) if isinstance(v, list) else v
                              for k, v in fields.items()})
    except (TypeError, ValueError) as error:
        raise ConfigError(f"augment: {error}") from None


def _dist_info() -> tuple[int, int]:
    if "WORLD_SIZE" in os.environ and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class Trainer:
    """Holds the run's state; ``fit()`` trains and returns the path of ``best.pt``.
    ``clock`` (seconds, monotonic) times the budget, the schedule and the estimates."""

    def __init__(self, cfg: TrainConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.rank, self.world = _dist_info()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        seed_everything(cfg.seed + self.rank)
        self.out = Path(cfg.out)
        train_set = read_yolo(cfg.data, "train")
        self.names = train_set.names
        self.val = read_yolo(cfg.data, "val") if self.rank == 0 else None
        tiles = cfg.steps_per_epoch * cfg.batch_size * self.world
        self.dataset = TileDataset(train_set.records, tile_size=cfg.tile_size,
                                   object_prob=cfg.object_tile_prob, augment=_augment(cfg.augment),
                                   tiles_per_image=math.ceil(tiles / len(train_set.records)),
                                   seed=cfg.seed, cache=True)
        self.model, self.cfg = self._build_model(cfg)
        # the loss encodes targets at the stride the net declares (4, or 8 for -s8 nets)
        self.criterion = CenterNetLoss(num_classes=len(self.names), **{
            "stride": getattr(self.model, "stride", 4), **cfg.loss_config})
        self.dwd = DynamicWeightDecay(self.model, cfg.dwd_lambda) if cfg.dwd_lambda else None
        groups = split_decay_groups(self.model, cfg.weight_decay, dynamic=self.dwd is not None)
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
        self.total_steps = cfg.epochs * cfg.steps_per_epoch
        self.schedule = WarmupCosine(cfg.warmup_steps, self.total_steps)
        self.ema = AveragedModel(self.model, use_buffers=True,
                                 multi_avg_fn=_ema_ramp(cfg.ema_decay, cfg.warmup_steps))
        self.teacher = model_from_checkpoint(cfg.teacher)[0] if cfg.teacher else None
        self.epoch = self.step = 0
        self.best: dict[str, Any] | None = None
        self.budget = TimeBudget(None, clock)
        self.eval_s = 0.0  # seconds one validation takes (estimated, then measured)
        self.step_s = 0.0  # seconds per training step, as measured
        self._busy_s, self._session_steps = 0.0, 0
        self._last_val = (0.0, clock())  # progress and clock of the last validation
        if cfg.resume:
            self._resume()
        self.net = DistributedDataParallel(self.model) if self.world > 1 else self.model

    def _build_model(self, cfg: TrainConfig) -> tuple[nn.Module, TrainConfig]:
        """The net (from scratch, from ``init`` with a class head for these names, or as
        ``last.pt`` built it when resuming) and the config with the net it really is."""
        k = len(self.names)
        source = self.out / "last.pt" if cfg.resume else init_path(cfg.init, cfg.model)
        if source is None:
            return create_model(cfg.model, num_classes=k, **cfg.net_config), cfg
        ckpt = load_checkpoint(source)
        name, config = net_of(ckpt, source, cfg.model,
                              "model" in cfg.model_fields_set and not cfg.resume,
                              {} if cfg.resume else cfg.net_config)
        model = create_model(name, num_classes=k, **config)
        if not cfg.resume:
            report = load_init(model, ckpt, self.names, source)
            if self.rank == 0:
                log.info("%s", report.line())
        return model, cfg.model_copy(update={"model": name, "net_config": config})

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

    def _time_fraction(self) -> float:
        """Share of the training time spent at the end of the next step (at the measured
        step time), rank 0's value on every rank: above 1, the step would overrun."""
        fraction = self.budget.train_fraction(ahead=self.step_s)
        if self.world > 1:
            value = torch.tensor([fraction], dtype=torch.float64)
            dist.broadcast(value, 0)
            fraction = float(value)
        return fraction

    def progress(self) -> float:
        """Progress of the run in [0, 1]: steps done or training time spent, the further."""
        return min(1.0, max(self.step / self.total_steps, self.budget.train_fraction()))

    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def _set_lr(self, factor: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.lr * factor

    def _train_step(self, batch: tuple[torch.Tensor, list[dict]], fraction: float) -> dict:
        self._set_lr(self.schedule(self.schedule.progress(self.step, fraction)))
        loss, parts = self._loss(*batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
        self.optimizer.step()
        self.ema.update_parameters(self.model)
        self.step += 1
        return {"loss": float(loss.detach()), **{k: float(v) for k, v in parts.items()}}

    def _train_epoch(self, bar: tqdm) -> tuple[dict[str, float], bool]:
        """One epoch; returns the mean losses and whether the time budget is spent."""
        self.net.train()
        totals: dict[str, float] = {}
        batches, n, spent = iter(self._loader()), 0, False
        while n < self.cfg.steps_per_epoch and self.step < self.total_steps:
            start = self.clock()
            fraction = self._time_fraction()
            if fraction > 1.0:
                spent = True
                break
            parts = self._train_step(next(batches), fraction)
            n += 1
            for k, v in parts.items():
                totals[k] = totals.get(k, 0.0) + v
            self._busy_s += self.clock() - start
            self._session_steps += 1
            self.step_s = self._busy_s / self._session_steps
            bar.total = self._planned_steps()
            bar.set_postfix(epoch=f"{self.epoch + 1}/{self.cfg.epochs}",
                            loss=f"{parts['loss']:.3f}", lr=f"{self.lr():.1e}", refresh=False)
            bar.update(1)
            if self._auto_validation_due():
                self._validate_between_steps()
        return {k: v / max(1, n) for k, v in totals.items()}, spent

    def _planned_steps(self) -> int:
        """Steps the run will end at: all of them, or as many as the time budget holds at
        the measured step time."""
        left = self.budget.train_left()
        if math.isinf(left) or self.step_s <= 0:
            return self.total_steps
        return min(self.total_steps, self.step + max(0, int(left / self.step_s)))

    def seconds_left(self) -> float:
        """Estimated seconds to the end of the run, final validation included."""
        train = (self._planned_steps() - self.step) * self.step_s
        return max(0.0, min(train, max(0.0, self.budget.train_left()))) + self.eval_s

    def _payload(self, metrics: dict[str, Any], slim: bool = False) -> dict[str, Any]:
        config = {"num_classes": len(self.names), **self.cfg.net_config}
        payload = {
            "model": self.cfg.model, "config": config,
            "state_dict": self.ema.module.state_dict(),
            "meta": {"epoch": self.epoch, "step": self.step, "names": list(self.names),
                     "recipe": self.cfg.recipe(), "metrics": metrics,
                     "tile_size": self.cfg.eval_tile_size},
        }
        if not slim:
            payload["train_state"] = {"model": self.model.state_dict(),
                                      "ema": self.ema.state_dict(),
                                      "optimizer": self.optimizer.state_dict()}
        return payload

    def _resume(self) -> None:
        path = self.out / "last.pt"
        ckpt = load_checkpoint(path)
        state = ckpt["train_state"]
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.step = ckpt["meta"]["epoch"], ckpt["meta"]["step"]
        if (self.out / "best.pt").is_file():
            best = load_checkpoint(self.out / "best.pt")["meta"]
            self.best = {**best["metrics"], "epoch": best["epoch"], "step": best["step"]}
        log.info("resumed from %s at epoch %d (the time budget restarts)", path, self.epoch)

    def _log(self, row: dict[str, Any]) -> None:
        with open(self.out / "log.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")

    def _auto_validation_due(self) -> bool:
        """With ``eval_every`` 0, after a step: a tenth of the run since the last validation,
        and nine times a validation's time (so validations take at most a tenth of it)."""
        if self.cfg.eval_every or self.rank != 0 or self.step >= self.total_steps:
            return False
        progress, at = self._last_val
        return (self.progress() - progress >= AUTO_SPACING
                and self.clock() - at >= (1 / AUTO_SHARE - 1) * self.eval_s)

    def _validate_between_steps(self) -> None:
        metrics = self.validate()
        self._log({"epoch": self.epoch, "step": self.step, "validation": True,
                   "at_s": round(self.budget.elapsed(), 1), **metrics})
        log.info("step %d: val %s %s", self.step, self.cfg.best_metric,
                 _fmt(metrics.get(self.cfg.best_metric)))
        self._keep_best(metrics)

    def _keep(self, metrics: dict[str, Any]) -> None:
        """Write ``last.pt``; ``best.pt`` too when ``metrics`` beat the best so far."""
        save_checkpoint(self.out / "last.pt", self._payload(metrics))
        self._keep_best(metrics)

    def _keep_best(self, metrics: dict[str, Any]) -> None:
        value = metrics.get(self.cfg.best_metric)
        if value is None or math.isnan(value):
            return
        best = None if self.best is None else self.best.get(self.cfg.best_metric)
        if best is None or value > best:
            self.best = {**metrics, "epoch": self.epoch, "step": self.step}
            save_checkpoint(self.out / "best.pt", self._payload(metrics, slim=True))

    def _start_budget(self) -> None:
        """Start the clock of ``max_minutes``; reserve the final validation's estimate."""
        from .validate import estimate_eval_seconds

        cfg = self.cfg
        self.budget = TimeBudget(cfg.max_minutes * 60 if cfg.max_minutes else None, self.clock)
        if self.rank == 0:
            self.eval_s = estimate_eval_seconds(self.ema.module, self.val.records,
                                                self.val.names, cfg.eval_tile_size, self.clock)
            self.budget.reserve(self.eval_s)
            self.budget.check_reserve(f"the validation of {len(self.val.records)} images")
            log.info("training %s from step %d of %d; validation of %d images takes about "
                     "%s%s", cfg.model, self.step, self.total_steps, len(self.val.records),
                     _minutes(self.eval_s), f", within {cfg.max_minutes:g} min"
                     if cfg.max_minutes else "")
        self._last_val = (self.progress(), self.clock())

    def _end_epoch(self, losses: dict[str, float], last: bool) -> None:
        row = {"epoch": self.epoch, "step": self.step, "lr": self.lr(),
               "elapsed_s": round(self.budget.elapsed(), 1), **losses}
        metrics: dict[str, Any] = {}
        if not last and self.cfg.eval_every and self.epoch % self.cfg.eval_every == 0:
            metrics = self.validate()
            row.update(metrics)
        self._log(row)
        log.info("epoch %d/%d step %d/%d: %s lr %.1e; %s in, about %s left%s", self.epoch,
                 self.cfg.epochs, self.step, self.total_steps,
                 " ".join(f"{k} {v:.4g}" for k, v in losses.items()), self.lr(),
                 _minutes(self.budget.elapsed()), _minutes(self.seconds_left()),
                 f"; val {self.cfg.best_metric} {_fmt(metrics.get(self.cfg.best_metric))}"
                 if metrics else "")
        if metrics:
            self._keep(metrics)
        else:
            save_checkpoint(self.out / "last.pt", self._payload(metrics))

    def fit(self) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        self._start_budget()
        with logging_redirect_tqdm(), tqdm(total=self._planned_steps(), initial=self.step,
                                           desc="train", unit="step",
                                           disable=self.rank != 0) as bar:
            while self.epoch < self.cfg.epochs and self.step < self.total_steps:
                losses, spent = self._train_epoch(bar)
                if losses:
                    self.epoch += 1
                last = spent or self.epoch >= self.cfg.epochs or self.step >= self.total_steps
                if self.rank == 0 and losses:
                    self._end_epoch(losses, last)
                if spent:
                    log.info("training time of the %g min budget spent at step %d (epoch %d)",
                             self.cfg.max_minutes, self.step, self.epoch)
                    break
        if self.rank == 0:
            metrics = self.validate()
            self._log({"epoch": self.epoch, "step": self.step, "final": True,
                       "total_s": round(self.budget.elapsed(), 1), **metrics})
            self._keep(metrics)
            log.info("%s", self.summary())
        return self.out / "best.pt"

    def summary(self) -> str:
        """One line: what the run kept, and what it measured on the val split."""
        b = self.best
        if b is None:
            return (f"done in {_minutes(self.budget.elapsed())}: {self.out / 'last.pt'}; no "
                    f"validation metric ({self.cfg.best_metric}) could be measured")
        point = b.get("operating_point")
        where = ("operating point score >= {score_threshold:.2f}: precision {precision:.2f}, "
                 "recall {recall:.2f}".format(**point)) if point else "no detections"
        return (f"done in {_minutes(self.budget.elapsed())}: {self.out / 'best.pt'} (epoch "
                f"{b['epoch']}, step {b['step']}) on val ({b['images']} images, {b['objects']} "
                f"objects): mAP50 {_fmt(b['mAP50'])}, mAP50-95 {_fmt(b['mAP50_95'])}, AP_small "
                f"{_fmt(b['AP_small'])}, {where}; last.pt beside it")

    def validate(self) -> dict[str, Any]:
        """Metrics of the EMA weights on the val split (and the time it took, for the budget)."""
        from .validate import evaluate_detector

        start = self.clock()
        result = evaluate_detector(self.ema.module, self.val.records, self.val.names,
                                   tile_size=self.cfg.eval_tile_size).to_dict()
        self.eval_s = self.clock() - start
        self.budget.reserve(self.eval_s)
        self._last_val = (self.progress(), self.clock())
        return {"mAP50": result["map50"], "mAP50_95": result["map50_95"],
                "AP_small": result["ap_small"], "AP30_tiny": result["ap30_tiny"],
                "operating_point": result["operating_point"],
                "images": result["num_images"], "objects": result["num_gt"]}


def train(cfg: TrainConfig, clock: Callable[[], float] = time.monotonic) -> Path:
    """Train; returns ``best.pt`` (``last.pt`` beside it)."""
    return Trainer(cfg, clock).fit()
