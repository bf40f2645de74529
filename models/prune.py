"""Learnable channel counts (CSNet, arXiv 2003.05643, Sec. 3.3) for SpeckNet.

After training with dynamic weight decay, the BN gammas of useless channels have collapsed.
The prunable unit is the expanded (hidden) width of each inverted residual: a hidden channel is
dropped when |gamma| of the BN after the expand 1x1 is below ``threshold``; the depthwise conv
and its BN inherit that mask (techniques.md), as do the attention FCs and the projection's
input columns. ``mask_network`` zeroes the dropped channels in place (both BNs' gamma and
beta), and ``prune_network`` rebuilds a physically smaller net with the kept weights copied.
The two give identical outputs, which is what makes the rebuild trustworthy.

Choices:
- TiedSE shares one FC across B channel blocks, so a hidden index j is only dropped when it
  collapsed in every block (the tied group), keeping the blocks equal and the FC shared.
- At least one tied group is always kept, and the hidden width never falls to the block's
  input width exactly (that would make the inverted residual skip its expand conv); the
  largest-gamma dropped group is kept instead in that case.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .blocks.depthwise import InvertedResidual
from .blocks.se import SE
from .blocks.tied import TiedSE
from .checkpoint import model_from_checkpoint, save_checkpoint
from .data.boxes import DetectionSet
from .registry import create_model, model_record
from .summary import count_gflops, count_params

log = logging.getLogger(__name__)


@dataclass
class PruneReport:
    hidden_before: list[int]
    hidden_after: list[int]

    @property
    def kept_fraction(self) -> float:
        return sum(self.hidden_after) / sum(self.hidden_before)


def _tied_blocks(block: InvertedResidual) -> int:
    return block.attn.blocks if isinstance(block.attn, TiedSE) else 1


def _block_mask(block: InvertedResidual, threshold: float) -> torch.Tensor:
    gamma = block.expand.bn.weight.detach().abs()
    blocks = _tied_blocks(block)
    group = gamma.reshape(blocks, -1).amax(dim=0)  # (C/B,) strongest member of each group
    keep = group > threshold
    order = group.argsort(descending=True)
    in_ch = block.expand.conv.in_channels
    if not keep.any():
        keep[order[0]] = True
    if int(keep.sum()) * blocks == in_ch:
        keep[order[int(keep.sum())]] = True
    return keep.repeat(blocks)  # (C,)


def _sliceable(block: nn.Module) -> bool:
    """A plain inverted residual: conv-BN units with ``nn.Conv2d`` convs (no RepVGG branches,
    no tied expand)."""
    return (isinstance(block, InvertedResidual) and hasattr(block.dw, "bn")
            and (isinstance(block.expand, nn.Identity)
                 or type(block.expand.conv) is nn.Conv2d))


def _check_plain(model: nn.Module) -> None:
    """Pruning knows plain inverted residuals only (conv-BN units it can slice)."""
    for i, block in enumerate(model.blocks):
        if not _sliceable(block):
            raise ValueError(f"block {i} ({type(block).__name__}, dw "
                             f"{type(getattr(block, 'dw', None)).__name__}, expand "
                             f"{type(getattr(block, 'expand', None)).__name__}) cannot be "
                             "pruned: only nets of plain inverted residuals can")


def channel_masks(model: nn.Module, threshold: float = 1e-2) -> list[torch.Tensor]:
    """Keep-masks over the hidden channels of every prunable inverted residual, in order."""
    _check_plain(model)
    return [_block_mask(b, threshold) for b in model.blocks
            if isinstance(b, InvertedResidual) and not isinstance(b.expand, nn.Identity)]


@torch.no_grad()
def mask_network(model: nn.Module, masks: list[torch.Tensor]) -> None:
    """Zero the dropped hidden channels in place (expand BN and depthwise BN)."""
    for block, keep in zip(_prunable(model), masks, strict=True):
        for bn in (block.expand.bn, block.dw.bn):
            bn.weight[~keep] = 0
            bn.bias[~keep] = 0


def _prunable(model: nn.Module) -> list[InvertedResidual]:
    return [b for b in model.blocks
            if isinstance(b, InvertedResidual) and not isinstance(b.expand, nn.Identity)]


def _copy_bn(dst: nn.BatchNorm2d, src: nn.BatchNorm2d, idx: torch.Tensor) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(dst, name).copy_(getattr(src, name)[idx])


def _copy_attn(dst: nn.Module, src: nn.Module, keep: torch.Tensor) -> None:
    if isinstance(src, TiedSE):
        j = keep.reshape(src.blocks, -1)[0].nonzero().squeeze(1)  # kept index within a block
        dst.fc1.fc.weight.copy_(src.fc1.fc.weight[:, j])
        dst.fc1.fc.bias.copy_(src.fc1.fc.bias)
        dst.fc2.fc.weight.copy_(src.fc2.fc.weight[j])
        dst.fc2.fc.bias.copy_(src.fc2.fc.bias[j])
    elif isinstance(src, SE):
        idx = keep.nonzero().squeeze(1)
        dst.fc1.weight.copy_(src.fc1.weight[:, idx])
        dst.fc1.bias.copy_(src.fc1.bias)
        dst.fc2.weight.copy_(src.fc2.weight[idx])
        dst.fc2.bias.copy_(src.fc2.bias[idx])
    elif not isinstance(src, nn.Identity):
        raise NotImplementedError(f"pruning through {type(src).__name__} is not supported")


@torch.no_grad()
def _copy_block(dst: InvertedResidual, src: InvertedResidual, keep: torch.Tensor) -> None:
    idx = keep.nonzero().squeeze(1)
    dst.expand.conv.weight.copy_(src.expand.conv.weight[idx])
    _copy_bn(dst.expand.bn, src.expand.bn, idx)
    dst.dw.conv.weight.copy_(src.dw.conv.weight[idx])
    _copy_bn(dst.dw.bn, src.dw.bn, idx)
    _copy_attn(dst.attn, src.attn, keep)
    dst.project.conv.weight.copy_(src.project.conv.weight[:, idx])
    dst.project.bn.load_state_dict(src.project.bn.state_dict())


@torch.no_grad()
def prune_network(model: nn.Module, name: str, config: dict, masks: list[torch.Tensor],
                  ) -> tuple[nn.Module, dict, PruneReport]:
    """Rebuild ``model`` (registered as ``name`` with ``config``) with only the kept hidden
    channels; returns the new net, its config (for the checkpoint) and a report."""
    blocks = [b for b in model.blocks if isinstance(b, InvertedResidual)]
    prunable = _prunable(model)
    kept = iter(masks)
    hidden = [int(next(kept).sum()) if b in prunable else b.dw.conv.out_channels
              for b in blocks]
    new_config = {**config, "hidden": hidden}
    pruned = create_model(name, **new_config).eval()
    src_state = model.state_dict()
    dst_state = pruned.state_dict()
    for key, value in src_state.items():  # every unpruned tensor is copied as is
        if key in dst_state and dst_state[key].shape == value.shape:
            dst_state[key].copy_(value)
    for dst, src, keep in zip(_prunable(pruned), prunable, masks, strict=True):
        _copy_block(dst, src, keep)
    before = [b.dw.conv.out_channels for b in blocks]
    return pruned, new_config, PruneReport(before, hidden)


def prune_checkpoint(path: str, out: str, threshold: float = 1e-2, data: str | None = None,
                     finetune_epochs: int = 0, max_minutes: float | None = None) -> Path:
    """``specks prune``: mask, rebuild, optionally fine-tune (within ``max_minutes``, its
    final validation included; default: the recipe's budget); report params/GFLOPs/mAP."""
    model, ckpt = model_from_checkpoint(path)
    record = model_record(ckpt["model"])
    masks = channel_masks(model, threshold)
    before = _stats(model, record.input_size)
    pruned, config, report = prune_network(model, ckpt["model"], ckpt["config"], masks)
    after = _stats(pruned, record.input_size)
    out_dir = Path(out)
    pruned_path = save_checkpoint(out_dir / "pruned.pt", {
        "model": ckpt["model"], "config": config, "state_dict": pruned.state_dict(),
        "meta": {**ckpt.get("meta", {}), "pruned_from": str(path), "threshold": threshold}})
    if data:
        val = _val(data)
        before["mAP50"] = _map50(model, val, "before pruning")
        after["mAP50"] = _map50(pruned, val, "after pruning")
    log.info("hidden widths %s -> %s (%.0f%% kept)", report.hidden_before, report.hidden_after,
             100 * report.kept_fraction)
    log.info("before: %s", before)
    log.info("after:  %s", after)
    if data and finetune_epochs:
        from .train import train
        from .train_config import make_config

        recipe = dict(ckpt.get("meta", {}).get("recipe", {}))
        if max_minutes is not None:
            recipe["max_minutes"] = max_minutes
        cfg = make_config({**recipe, "data": data, "model": ckpt["model"],
                           "model_config": {k: v for k, v in config.items()
                                            if k != "num_classes"},
                           "out": str(out_dir), "epochs": finetune_epochs, "dwd_lambda": 0.0,
                           "init": str(pruned_path), "resume": False, "teacher": None},
                          f"the recipe recorded in {path}")
        return train(cfg)  # its last log line gives the fine-tuned net's val metrics
    return pruned_path


def _stats(model: nn.Module, input_size: tuple[int, int, int]) -> dict[str, float]:
    return {"params": count_params(model), "gflops": round(count_gflops(model, input_size), 4)}


def _val(data: str) -> DetectionSet:
    from .data.yolo import read_yolo

    val = read_yolo(data, "val")
    log.info("mAP50 before and after pruning: two evaluations of %d val images; a bar shows "
             "each one's progress and time left", len(val.records))
    return val


def _map50(model: nn.Module, val: DetectionSet, when: str) -> float:
    from .validate import evaluate_detector

    log.info("evaluating %s", when)
    map50 = evaluate_detector(model, val.records, val.names).map50
    log.info("mAP50 %s: %.4f", when, map50)
    return map50
