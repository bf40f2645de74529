"""The tile prior's learned cue: a CSNet saliency net (Cheng et al., "Highly Efficient Salient
Object Detection with 100K Parameters", ECCV 2020, arXiv 2003.05643, Sec. 3-4) trained to light
small objects on the device's low-resolution ``lores`` frame, and the tile-level test of
whether it does (``docs/architecture.md``, sparse-sampling step 1).

CSNet is a salient-*object* detector trained on DUTS at 224x224; no paper trains it as a
small-object prior. Choices of ours:

- Input. Synthetic full frames (``models.data.synth``, default 1920x1080) resized with
  ``INTER_AREA`` to the static network input, default ``(192, 320)`` (H, W): the width of the
  device's lores stream, the height rounded up from 180 (16:9) to a multiple of 32 (so every
  CSNet stage divides evenly) while close to 4:3's 240. The device resizes whatever lores size
  it has to the bundle's input (a 1080p frame is squeezed by 6.7 % vertically). Pixels are RGB
  in ``[0, 1]`` with mean 0 / std 1, the exporter's defaults.
- Target. One binary map at the output resolution (CSNet upsamples its logits to the input
  size): every labelled object's box, scaled per axis to the map, widened to whole cells
  (floor of the start, ceil of the end, so any object lights at least one cell) and dilated by
  ``dilate`` cells, is 1; everything else, the distractors included, is 0.
- Loss. BCE with logits (the paper's loss) with ``pos_weight`` for the ~1 % of object cells,
  plus ``dice_weight`` x soft Dice over the batch (helps the few positive cells).
- Training. Object-centred random crops (``object_crop_prob``) of the cached lores frames plus
  horizontal flips (the paper's augmentation is flips and crops); AdamW with
  :class:`~models.schedule.WarmupCosine`, the EMA of ``models.train``, and its wall-clock budget.
  NOTE: the paper trains 300 epochs at lr 1e-4; the prior gets a few minutes on one core, so
  lr 3e-3 with warm-up and cosine, as the detector.
- Metric. The question the prior answers is whether pooled saliency ranks the detector tiles
  holding small objects above empty ones. On held-out full frames, the saliency probability
  map is max-pooled over the device grid (:class:`~firmware_py.tiling.TileGrid`, 320 px
  tiles, overlap 0.2) exactly as :func:`firmware_py.sparse.prior.pool_map` does on the device.
  A tile is positive if some object lies wholly inside it (the detector can find it there),
  negative if no object touches it; tiles that cut an object are left out of the ranking.
  Reported: the ROC-AUC over all tiles of all frames (Mann-Whitney, ties count one half), the
  recall and precision of ``pooled >= threshold`` (the operating point, default 0.5), and the
  tile and object recall of the ``budget`` top-ranked tiles per frame (the sampler's ``k``,
  default 8; an object counts as found if any tile holding it is chosen).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from firmware_py.sparse.prior import pool_map
from firmware_py.tiling import TileGrid

from .budget import TimeBudget
from .checkpoint import save_checkpoint
from .data.synth import Scene, SynthConfig, synth_image
from .registry import create_model
from .schedule import WarmupCosine
from .train import _ema_ramp, seed_everything

log = logging.getLogger(__name__)


@dataclass
class SaliencyConfig:
    """Everything a prior training run needs; saved into the checkpoint as the recipe."""

    out: str = "runs/saliency"
    model: str = "csnet-prior"
    model_config: dict[str, Any] = field(default_factory=dict)
    input_size: tuple[int, int] = (192, 320)  # (H, W) of the static network input
    frame_size: tuple[int, int] = (1080, 1920)  # (H, W) of the synthetic full frames
    frames: int = 240
    data_seed: int = 11
    crop: int = 128
    object_crop_prob: float = 0.8
    steps: int = 800
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 50
    ema_decay: float = 0.99  # short runs: an EMA horizon of ~100 steps
    pos_weight: float = 20.0
    dice_weight: float = 0.5
    dilate: int = 1
    seed: int = 0
    max_minutes: float | None = None
    threads: int | None = None


# --- data ------------------------------------------------------------------------------------

def to_lores(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(H, W, 3)`` uint8 frame -> ``size`` (H, W) by area resampling, as the device's lores."""
    h, w = size
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def box_mask(boxes: np.ndarray, frame_size: tuple[int, int], out_size: tuple[int, int],
             dilate: int = 1) -> np.ndarray:
    """``(h, w)`` float32 target: 1 on every box (``xyxy`` frame pixels) scaled to ``out_size``,
    widened to whole cells and dilated by ``dilate`` cells, 0 elsewhere."""
    (fh, fw), (h, w) = frame_size, out_size
    mask = np.zeros((h, w), np.float32)
    scale = np.array([w / fw, h / fh, w / fw, h / fh])
    for box in np.asarray(boxes, np.float64).reshape(-1, 4) * scale:
        x0, y0 = (max(0, math.floor(v) - dilate) for v in box[:2])
        x1, y1 = (math.ceil(v) + dilate for v in box[2:])
        mask[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] = 1.0
    return mask


def lores_scenes(cfg: SynthConfig, count: int, seed: int, size: tuple[int, int],
                 desc: str = "lores frames") -> Iterable[tuple[np.ndarray, Scene]]:
    """``count`` synthetic full frames (``[seed, i]``) with their lores copies."""
    for i in tqdm(range(count), desc=desc, leave=False):
        scene = synth_image(cfg, [seed, i])
        yield to_lores(scene.image, size), scene


class LoresCrops:
    """Cached lores frames and targets; draws seeded batches of (object-centred) crops."""

    def __init__(self, cfg: SaliencyConfig) -> None:
        synth = SynthConfig(width=cfg.frame_size[1], height=cfg.frame_size[0])
        self.images, self.masks = [], []
        for lores, scene in lores_scenes(synth, cfg.frames, cfg.data_seed, cfg.input_size):
            self.images.append(lores)
            self.masks.append(box_mask(scene.boxes, cfg.frame_size, cfg.input_size, cfg.dilate))
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)

    def _origin(self, mask: np.ndarray) -> tuple[int, int]:
        h, w, c = *mask.shape, self.cfg.crop
        ys, xs = np.nonzero(mask)
        if len(ys) and self.rng.random() < self.cfg.object_crop_prob:
            k = self.rng.integers(len(ys))
            y = int(ys[k]) - int(self.rng.integers(0, c))
            x = int(xs[k]) - int(self.rng.integers(0, c))
        else:
            y, x = int(self.rng.integers(0, h - c + 1)), int(self.rng.integers(0, w - c + 1))
        return int(np.clip(y, 0, h - c)), int(np.clip(x, 0, w - c))

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, c, c)`` float images in ``[0, 1]`` and ``(B, 1, c, c)`` targets."""
        c, images, masks = self.cfg.crop, [], []
        for i in self.rng.integers(0, len(self.images), self.cfg.batch_size):
            y, x = self._origin(self.masks[i])
            image, mask = self.images[i][y:y + c, x:x + c], self.masks[i][y:y + c, x:x + c]
            if self.rng.random() < 0.5:
                image, mask = image[:, ::-1], mask[:, ::-1]
            images.append(image.transpose(2, 0, 1))  # (3, c, c)
            masks.append(mask[None])  # (1, c, c)
        x = torch.from_numpy(np.ascontiguousarray(np.stack(images))).float() / 255.0
        return x, torch.from_numpy(np.ascontiguousarray(np.stack(masks)))


# --- loss and training -----------------------------------------------------------------------

def saliency_loss(logits: torch.Tensor, target: torch.Tensor, pos_weight: float = 20.0,
                  dice_weight: float = 0.5) -> torch.Tensor:
    """BCE-with-logits (positives weighted ``pos_weight``) + ``dice_weight`` x soft Dice."""
    bce = F.binary_cross_entropy_with_logits(
        logits, target, pos_weight=torch.tensor(pos_weight, dtype=logits.dtype))
    if not dice_weight:
        return bce
    prob = torch.sigmoid(logits)
    dice = 1 - (2 * (prob * target).sum() + 1) / (prob.sum() + target.sum() + 1)
    return bce + dice_weight * dice


def train_saliency(cfg: SaliencyConfig, heldout: Sequence[Scene] = ()) -> Path:
    """Train the prior; write ``<out>/last.pt`` (EMA weights, the Specks checkpoint format) and
    return its path. ``heldout`` scenes, if given, are scored into ``meta.metrics``."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    data = LoresCrops(cfg)
    model = create_model(cfg.model, **cfg.model_config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    budget = TimeBudget(cfg.max_minutes * 60 if cfg.max_minutes else None)
    schedule = WarmupCosine(cfg.warmup_steps, cfg.steps)
    ema = AveragedModel(model, use_buffers=True,
                        multi_avg_fn=_ema_ramp(cfg.ema_decay, cfg.warmup_steps))
    start = time.monotonic()
    bar = tqdm(range(cfg.steps), desc="saliency", leave=False)
    step, running = 0, 0.0
    for step in bar:
        lr = cfg.lr * schedule(schedule.progress(step, budget.train_fraction()))
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = _train_step(model, optimizer, data.batch(), cfg)
        ema.update_parameters(model)
        running = loss if step == 0 else 0.95 * running + 0.05 * loss
        bar.set_postfix(loss=f"{running:.3f}", lr=f"{lr:.1e}")
        if budget.train_fraction() >= 1.0:
            log.warning("time budget of %.1f min spent after %d steps", cfg.max_minutes, step + 1)
            break
    minutes = (time.monotonic() - start) / 60
    deployed = ema.module.eval()
    metrics = evaluate_prior(deployed, heldout, cfg.input_size).to_dict() if heldout else {}
    out = Path(cfg.out) / "last.pt"
    save_checkpoint(out, {
        "model": cfg.model, "config": dict(cfg.model_config), "state_dict": deployed.state_dict(),
        "meta": {"step": step + 1, "recipe": asdict(cfg), "metrics": metrics,
                 "input_size": list(cfg.input_size), "train_minutes": round(minutes, 2),
                 "final_loss": round(running, 4)}})
    log.info("saliency prior: %d steps in %.1f min, loss %.3f", step + 1, minutes, running)
    return out


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer,
                batch: tuple[torch.Tensor, torch.Tensor], cfg: SaliencyConfig) -> float:
    model.train()
    images, target = batch
    loss = saliency_loss(model(images), target, cfg.pos_weight, cfg.dice_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 10.0)
    optimizer.step()
    return float(loss.detach())


# --- tile-level evaluation -------------------------------------------------------------------

@torch.no_grad()
def predict_saliency(model: nn.Module, image: np.ndarray, input_size: tuple[int, int]
                     ) -> np.ndarray:
    """``(h, w)`` float32 saliency probability of a full ``(H, W, 3)`` uint8 RGB frame."""
    lores = to_lores(image, input_size)
    x = torch.from_numpy(np.ascontiguousarray(lores.transpose(2, 0, 1)))[None].float() / 255
    return torch.sigmoid(model.eval()(x))[0, 0].numpy()


def tile_labels(grid: TileGrid, boxes: np.ndarray) -> np.ndarray:
    """``(N,)`` int8 per tile: 1 if some box lies wholly inside it, 0 if no box touches it,
    -1 otherwise (it cuts an object: left out of the ranking)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)[None]  # (1, K, 4)
    win = grid.windows[:, None, :].astype(np.float64)  # (N, 1, 4)
    inside = ((boxes[..., 0] >= win[..., 0]) & (boxes[..., 1] >= win[..., 1])
              & (boxes[..., 2] <= win[..., 2]) & (boxes[..., 3] <= win[..., 3]))  # (N, K)
    touch = ((boxes[..., 0] < win[..., 2]) & (boxes[..., 2] > win[..., 0])
             & (boxes[..., 1] < win[..., 3]) & (boxes[..., 3] > win[..., 1]))  # (N, K)
    labels = np.where(touch.any(1), -1, 0).astype(np.int8)
    labels[inside.any(1)] = 1
    return labels


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (Mann-Whitney U with
    average ranks for ties); NaN without both classes."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if not pos or not neg:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)  # 1-based average ranks
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


@dataclass
class TileMetrics:
    auc: float
    recall: float  # of positive tiles with pooled saliency >= threshold
    precision: float
    threshold: float
    tile_recall_at_budget: float  # of positive tiles among each frame's top-`budget`
    object_recall_at_budget: float  # objects with a holding tile among the top-`budget`
    budget: int
    positives: int
    negatives: int
    objects: int
    frames: int

    def to_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def tile_metrics(pooled: Sequence[np.ndarray], boxes: Sequence[np.ndarray], grid: TileGrid,
                 threshold: float = 0.5, budget: int = 8) -> TileMetrics:
    """Tile ranking metrics of per-frame pooled saliency ``(N,)`` against per-frame GT boxes."""
    scores, labels, chosen, found, objects = [], [], [], 0, 0
    for score, frame_boxes in zip(pooled, boxes, strict=True):
        label = tile_labels(grid, frame_boxes)
        top = np.zeros(len(grid), bool)
        top[np.argsort(-score, kind="stable")[:budget]] = True
        for box in np.asarray(frame_boxes, np.float64).reshape(-1, 4):
            objects += 1
            found += bool((tile_labels(grid, box[None]) == 1)[top].any())
        keep = label >= 0
        scores.append(score[keep])
        labels.append(label[keep])
        chosen.append(top[keep])
    s, y, top = np.concatenate(scores), np.concatenate(labels) == 1, np.concatenate(chosen)
    hit = s >= threshold
    return TileMetrics(
        auc=roc_auc(s, y), recall=_ratio((hit & y).sum(), y.sum()),
        precision=_ratio((hit & y).sum(), hit.sum()), threshold=threshold,
        tile_recall_at_budget=_ratio((top & y).sum(), y.sum()),
        object_recall_at_budget=_ratio(found, objects), budget=budget,
        positives=int(y.sum()), negatives=int((~y).sum()), objects=objects, frames=len(pooled))


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def evaluate_prior(model: nn.Module, scenes: Iterable[Scene], input_size: tuple[int, int],
                   tile: int = 320, overlap: float = 0.2, threshold: float = 0.5,
                   budget: int = 8) -> TileMetrics:
    """Run the prior on full frames, max-pool its map over the device grid, score the tiles."""
    pooled, boxes, grid = [], [], None
    for scene in scenes:
        h, w = scene.image.shape[:2]
        grid = grid or TileGrid(w, h, tile, tile, overlap)
        pooled.append(pool_map(predict_saliency(model, scene.image, input_size), grid, "max"))
        boxes.append(scene.boxes)
    if grid is None:
        raise ValueError("no frames to evaluate")
    return tile_metrics(pooled, boxes, grid, threshold, budget)
