"""CSNet, the ~100k-parameter salient object detector (Cheng et al., "Highly Efficient Salient
Object Detection with 100K Parameters", ECCV 2020, arXiv 2003.05643, Sec. 3, Fig. 2-3).

Structure (the authors' released code, which the paper summarises):
- stem: an ILBlock (3x3 gOctConv-CBR, 1 scale -> 2 scales) at full input resolution;
- 4 stages of 3, 4, 6, 4 ILBlocks at 1/1, 1/2, 1/4, 1/8 of the input; widths
  basewidth * {1, 1, 2, 4, 4} (stem, stages 1-4); two scales per block split [0.5, 0.5];
  the first block of stages 2-4 has stride 2 and a 3x3 gOctConv; the last block of stages
  2-4 outputs one scale;
- cross-stage fusion (CSF): a 1x1 gOctConv-CBR over the last features of stages 2, 3, 4
  (taken as scales 0, 1, 2 of a base at 1/2 resolution) to widths (w // 3 each) -> per scale,
  a multi-dilation block -> a 1x1 gOctConv-CBR merging to one scale -> 1x1 classifier (with
  bias) -> bilinear upsample (``align_corners=False``) to the input size.
- Output: saliency logits (N, num_classes = 1, H, W); train with BCE-with-logits.

Multi-dilation block (where the paper says only "parallel dilated convs"): *full* (not
depthwise) 3x3 convs at dilations 1, 2, 4, 8, 16 in parallel, each taking all input channels
and producing an even share of the output channels (the last share takes the remainder),
concatenated, then one BatchNorm + PReLU, as in the authors' code.

Parameter counts (``count_params``: BN running statistics excluded, PReLU slopes included):
``csnet-x1`` (basewidth 20) = 210,985 and ``csnet-x2`` (basewidth 40) = 788,631, exactly the
authors' unpruned counts. What makes them exact: the stem is an ILBlock (3x3 conv + two
depthwise CBRs); PReLU has one slope per channel; stage 1's first block uses a 1x1 conv
(only strided blocks and the stem use 3x3); the dilation branches are full convs. The pruned
CSNet-L (93,647 / 140,894) comes from learned per-block widths (``block_channels``,
``csf_channels``) after dynamic weight decay (``models.blocks.dynamic_decay``).
``csnet-prior`` (basewidth 14) = 109,263 parameters, the device prior's budget.

NOTE: the authors multiply the weights of the depthwise and the dilated convs by 100 in the
forward pass ("for faster convergence"). A BatchNorm follows every one of them, so the scale
cancels: the loss as a function of the stored weights, hence training, is unchanged except
that BN's eps becomes relatively 1e4 smaller. This port uses plain convs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks.create_act import ActLayer, create_act
from ..blocks.create_norm import NormLayer, create_norm
from ..blocks.goctconv import GOctConvCBR, ILBlock, split_channels
from ..registry import register_model


@dataclass
class CSNetConfig:
    basewidth: int = 20
    depths: tuple[int, ...] = (3, 4, 6, 4)
    width_mults: tuple[int, ...] = (1, 1, 2, 4, 4)  # stem, stages 1-4
    split: tuple[float, ...] = (0.5, 0.5)  # per-scale channel fractions inside a stage
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    csf_divisor: int = 3  # CSF width of each input = its width // 3
    # Learned widths (after pruning): per ILBlock (stem first), per output scale.
    block_channels: Sequence[Sequence[int]] | None = None
    csf_channels: Sequence[int] | None = None  # per CSF scale (stages 2, 3, 4)
    in_chans: int = 3
    num_classes: int = 1
    norm: str = "batchnorm"
    act: str = "prelu"


@dataclass(frozen=True)
class _BlockPlan:
    out_channels: list[int]
    stride: int
    first: bool


def _plan(cfg: CSNetConfig) -> list[list[_BlockPlan]]:
    """Per stage (stem as stage 0), the blocks' per-scale output widths and strides."""
    stem_w = cfg.basewidth * cfg.width_mults[0]
    stages = [[_BlockPlan(split_channels(stem_w, cfg.split), 1, True)]]
    for s, depth in enumerate(cfg.depths, start=1):
        width = cfg.basewidth * cfg.width_mults[s]
        stages.append([
            _BlockPlan([width] if s > 1 and b == depth - 1 else split_channels(width, cfg.split),
                       2 if s > 1 and b == 0 else 1, False)
            for b in range(depth)])
    if cfg.block_channels is not None:
        flat = [list(c) for c in cfg.block_channels]
        if [len(c) for c in flat] != [len(b.out_channels) for st in stages for b in st]:
            raise ValueError("block_channels must give one width per scale of every block")
        it = iter(flat)
        stages = [[replace(b, out_channels=next(it)) for b in st] for st in stages]
    return stages


class MultiDilationBlock(nn.Module):
    """Parallel full 3x3 convs at several dilations, concatenated -> BN -> PReLU."""

    def __init__(self, in_ch: int, out_ch: int, dilations: Sequence[int] = (1, 2, 4, 8, 16),
                 norm: NormLayer = "batchnorm", act: ActLayer = "prelu") -> None:
        super().__init__()
        share = out_ch // len(dilations)
        shares = [share] * (len(dilations) - 1) + [out_ch - share * (len(dilations) - 1)]
        self.branches = nn.ModuleList(
            nn.Conv2d(in_ch, c, 3, padding=d, dilation=d, bias=False)
            for c, d in zip(shares, dilations, strict=True) if c > 0)
        self.bn = create_norm(norm, out_ch)
        self.act = create_act(act, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([branch(x) for branch in self.branches], dim=1)  # (N, out_ch, H, W)
        return self.act(self.bn(y))


class CSFHead(nn.Module):
    """Cross-stage fusion: 1x1 gOctConv-CBR over 3 scales -> per-scale multi-dilation ->
    1x1 gOctConv-CBR to one scale."""

    def __init__(self, in_channels: Sequence[int], mid_channels: Sequence[int],
                 dilations: Sequence[int], norm: NormLayer, act: ActLayer) -> None:
        super().__init__()
        self.fuse = GOctConvCBR(list(in_channels), list(mid_channels), 1, norm=norm, act=act)
        self.ms = nn.ModuleList(MultiDilationBlock(c, c, dilations, norm, act)
                                for c in mid_channels)
        self.merge = GOctConvCBR(list(mid_channels), [sum(mid_channels)], 1, norm=norm,
                                 act=act)
        self.out_channels = sum(mid_channels)

    def forward(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        ys = [ms(y) for ms, y in zip(self.ms, self.fuse(xs), strict=True)]
        return self.merge(ys)[0]  # (N, sum(mid), H/2, W/2)


class CSNet(nn.Module):
    def __init__(self, cfg: CSNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        plan = _plan(cfg)
        channels: list[int] = [cfg.in_chans]
        stages: list[nn.Sequential] = []
        for stage in plan:
            blocks = []
            for b in stage:
                blocks.append(ILBlock(channels, b.out_channels, stride=b.stride, first=b.first,
                                      norm=cfg.norm, act=cfg.act))
                channels = b.out_channels
            stages.append(nn.Sequential(*blocks))
        self.stem, *rest = stages
        self.stages = nn.ModuleList(rest)
        side = [sum(st[-1].out_channels) for st in plan[2:]]  # last widths of stages 2, 3, 4
        mid = (list(cfg.csf_channels) if cfg.csf_channels is not None
               else [w // cfg.csf_divisor for w in side])
        self.csf = CSFHead(side, mid, cfg.dilations, cfg.norm, cfg.act)
        self.classifier = nn.Conv2d(self.csf.out_channels, cfg.num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = self.stem([x])
        sides = []
        for i, stage in enumerate(self.stages):
            xs = stage(xs)
            if i >= 1:
                sides.append(xs[0])  # stages 2, 3, 4: (N, C_s, H/2^s, W/2^s), one scale
        y = self.classifier(self.csf(sides))  # (N, classes, H/2, W/2)
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


@dataclass
class PrunableGroup:
    """One ILBlock's prunable width: the first gOctConv-CBR's BN per output scale decides (drop
    channel c of scale s when |bns[s].weight[c]| ~ 0); the layers in ``inherit[s]`` carry the
    same channel mask. The next layer's input channels (the next block's first conv, or the
    CSF fuse / classifier after a stage's last block) must be sliced to match."""

    name: str
    block: ILBlock
    bns: list[nn.BatchNorm2d]
    inherit: list[list[nn.Module]]


def prunable_groups(model: CSNet) -> list[PrunableGroup]:
    """Every ILBlock (stem first) in forward order."""
    groups = []
    for name, block in model.named_modules():
        if isinstance(block, ILBlock):
            inherit = [[block.conv1.acts[s], block.dw1.conv.convs[f"{s}to{s}"],
                        block.dw1.bns[s], block.dw1.acts[s], block.dw2.conv.convs[f"{s}to{s}"],
                        block.dw2.bns[s], block.dw2.acts[s]]
                       for s in range(len(block.out_channels))]
            groups.append(PrunableGroup(name, block, list(block.conv1.bns), inherit))
    return groups


def _create_csnet(**kwargs) -> CSNet:
    return CSNet(CSNetConfig(**kwargs))


@register_model(input_size=(3, 224, 224), task="saliency")
def csnet_x1(**overrides) -> CSNet:
    """CSNet, basewidth 20 (unpruned start of CSNet-L-x1)."""
    return _create_csnet(**{"basewidth": 20, **overrides})


@register_model(input_size=(3, 224, 224), task="saliency")
def csnet_x2(**overrides) -> CSNet:
    """CSNet, basewidth 40 (unpruned start of CSNet-L-x2)."""
    return _create_csnet(**{"basewidth": 40, **overrides})


@register_model(input_size=(3, 224, 224), task="saliency")
def csnet_prior(**overrides) -> CSNet:
    """CSNet, basewidth 14: ~109k parameters, the device's tile-prior budget."""
    return _create_csnet(**{"basewidth": 14, **overrides})
