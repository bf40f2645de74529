"""SpeckNet: Specks' small-object detector family (pico / nano / small).

Backbone: a stride-2 stem, then MobileNetV2 inverted residuals (arXiv 1801.04381) in stages at
strides 4, 8 and 16, with TiedSE attention (arXiv 2009.12021, Sec. 3.3) in the deeper stages
and a dilated last block for context without another downsample. Neck: a light FPN
(arXiv 1612.03144) that brings stride 16 and 8 back to stride 4 by bilinear upsampling and
addition, each merge refined by a depthwise-separable conv. Head: CenterNet
(arXiv 1904.07850) at stride 4, the resolution the survey recommends for objects <= 32 px.

Choices where no paper decides:
- Backbone depth stops at stride 16: the largest target objects are ~40 px, the receptive
  field of the last dilated stage already exceeds 100 px, and every extra stage costs params.
- Upsampling is bilinear (``align_corners=False``), which XNNPACK and TFLite both run in int8.
- The head's activation is LeakyReLU (slope 0.1). On the synthetic split (1500 steps, held-out
  mAP50) a PReLU head reached 0.658, LeakyReLU 0.627 and ReLU only 0.393 (the depthwise conv
  of each head branch feeds 48 channels through the activation; ReLU drops half of it, cf.
  MobileNetV2's linear bottlenecks). PReLU, though, has no int8 kernel in litert-torch's
  quantizer: its int8 .tflite wrapped every head activation in dequantize/quantize pairs.
  LeakyReLU keeps the negative half and converts to TFLite's int8 LEAKY_RELU.
- The heatmap branch and the first block's expand -> depthwise pair stay float in int8
  exports (``int8_float_modules``): the parts of the net that do not survive per-tensor int8
  activations (see the class).
- ``hidden`` lets a pruned net state each inverted residual's expanded width explicitly
  (``models.prune`` rebuilds nets through it); ``None`` derives it from the expand ratios.

Design options (issue 15's Pareto front; each a config field, each variant registered):
- ``StageCfg.block``: ``"ir"`` (MobileNetV2) or ``"fused"`` (Fused-MBConv, EfficientNetV2
  arXiv 2104.00298 Sec. 3.2: a dense 3x3 in place of expand 1x1 + depthwise), per stage.
- ``stem``: ``"conv"`` (3x3 stride 2) or ``"s2d"`` (pixel-unshuffle by 2, then a 3x3 conv;
  ``blocks.space_to_depth``).
- ``rep``: RepVGG branches (arXiv 2101.03697) on the stem and every block's 3x3 conv, folded
  to single convs at export (``export.prepare``).
- ``head_stride``: 4 (FPN back to stride 4) or 8 (the FPN stops at stride 8: a 4x smaller
  head map; offsets carry the sub-cell position). The net declares it as ``stride``, which
  the loss, the decode spec and the manifest read.
- ``StageCfg.block = "oct"``: octave inverted residuals (``blocks.oct_residual``; CSNet's
  gOctConv, arXiv 2003.05643 Sec. 3.1): half of the expanded width runs at half resolution.
  ``specknet-nano-oct`` uses them at strides 4 and 8 (issue 15: the high-resolution
  stages, where the maps are largest); the stride-16 stage stays plain.
- ``tied = (B, G)``: Tied Block (G = 1) / Group Convolution (arXiv 2009.12021, Sec. 3) as
  every inverted residual's expand 1x1 and the neck's pointwise 1x1s (``blocks.depthwise``;
  the TiedBottleneck's placement: tied entry 1x1, plain exit). B = 2 as the paper's entry
  1x1. The FPN laterals stay plain, so every neck channel block sees every backbone
  channel (with tied laterals too, neck block b would see only backbone block b until the
  head). Stages must be ``"ir"``. Exports hold the equivalent grouped convs
  (``export.prepare``).
- ``context``: LRNNet's FCB and/or SVN (arXiv 2006.02706, Sec. 3; ``blocks.fcb``,
  ``blocks.svn``) on the deepest (stride-16) features before their lateral: the
  long-range context the paper adds at its coarsest map. Our choices: the FCB's depthwise
  dilation is 2 (the stage's last block is dilated by 2 too); SVN keeps the paper's 8x8 + 4x4
  grids, reduces to C/2 as ``models.nets.lrnnet`` does, and its key map is resized up to a
  multiple of 8 where the stride-16 map is not one (20x20 at 320 -> 24x24; ``blocks.svn``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from itertools import accumulate
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks.conv_bn_act import ConvNormAct
from ..blocks.create_attn import AttnLayer
from ..blocks.depthwise import DepthwiseSeparableConv, InvertedResidual
from ..blocks.fcb import FCB
from ..blocks.fused_mbconv import FusedMBConv
from ..blocks.oct_residual import OctInvertedResidual
from ..blocks.repconv import RepConvNormAct
from ..blocks.space_to_depth import SpaceToDepthStem
from ..blocks.svn import SVN
from ..blocks.tied import TiedSE
from ..heads.centernet import CenterNetHead
from ..registry import register_model

TIED_BLOCKS = 4  # TiedSE blocks B (tiny widths; the paper's 64x saving is at B=8)
CONTEXT_DILATION = 2  # the FCB's depthwise 3x3 in the context (module docstring)


@dataclass(frozen=True)
class StageCfg:
    out_ch: int
    depth: int
    stride: int = 2
    expand: float = 4.0
    attn: str | None = None
    dilation: int = 1  # applied to the last block of the stage
    block: Literal["ir", "fused", "oct"] = "ir"


@dataclass(frozen=True)
class SpeckNetCfg:
    num_classes: int = 4
    stem_ch: int = 16
    stages: tuple[StageCfg, ...] = (
        StageCfg(24, 2, expand=3.0),
        StageCfg(40, 2, expand=3.0, attn="tiedse"),
        StageCfg(64, 3, expand=4.0, attn="tiedse", dilation=2),
    )
    neck_ch: int = 48
    head_ch: int = 48
    act: str = "relu6"
    head_act: str = "leaky_relu"  # int8-native; see the module docstring
    hidden: tuple[int, ...] | None = None  # per inverted residual, in order (pruned nets)
    stem: Literal["conv", "s2d"] = "conv"
    rep: bool = False  # RepVGG branches on every 3x3 conv of stem and blocks
    head_stride: Literal[4, 8] = 4
    tied: tuple[int, int] = (1, 1)  # (B, G) of the expand and neck pointwise 1x1s; (1, 1) plain
    context: tuple[Literal["fcb", "svn"], ...] = ()  # on the stride-16 features, in order

    def __post_init__(self) -> None:
        if self.stem not in _STEMS:
            raise ValueError(f"stem must be one of {sorted(_STEMS)}, got {self.stem!r}")
        if self.head_stride not in (4, 8):
            raise ValueError(f"head_stride must be 4 or 8, got {self.head_stride}")
        for stage in self.stages:
            if stage.block not in _BLOCKS:
                raise ValueError(f"stage block must be one of {sorted(_BLOCKS)}, "
                                 f"got {stage.block!r}")
        if len(self.tied) != 2 or min(self.tied) < 1:
            raise ValueError(f"tied must be (blocks, groups), each >= 1, got {self.tied}")
        if self.tied != (1, 1) and any(s.block != "ir" for s in self.stages):
            raise ValueError("tied convs replace inverted residuals' expand 1x1s: every "
                             "stage block must be 'ir'")
        unknown = sorted(set(self.context) - set(_CONTEXT))
        if unknown:
            raise ValueError(f"context must be of {sorted(_CONTEXT)}, got {unknown}")


_BLOCKS = {"ir": InvertedResidual, "fused": FusedMBConv, "oct": OctInvertedResidual}
_CONTEXT = {
    "fcb": lambda ch, act: FCB(ch, dilation=CONTEXT_DILATION, act=act),
    "svn": lambda ch, act: SVN(ch, reduced_channels=ch // 2),
}


def _conv_stem(in_ch: int, out_ch: int, act: str, rep: bool) -> nn.Module:
    return (RepConvNormAct if rep else ConvNormAct)(in_ch, out_ch, 3, 2, act=act)


def _s2d_stem(in_ch: int, out_ch: int, act: str, rep: bool) -> nn.Module:
    return SpaceToDepthStem(in_ch, out_ch, act=act, rep=rep)


_STEMS = {"conv": _conv_stem, "s2d": _s2d_stem}


def _attn(name: str | None, unpruned_ch: int) -> AttnLayer:
    """TiedSE sized from the unpruned width, so a pruned block keeps its attention MLP."""
    if name != "tiedse":
        return name
    return partial(TiedSE, blocks=TIED_BLOCKS, hidden=max(1, unpruned_ch // TIED_BLOCKS // 4))


def _block_kwargs(cfg: SpeckNetCfg) -> list[dict]:
    """Constructor arguments of every inverted residual, in order."""
    blocks, in_ch = [], cfg.stem_ch
    for stage in cfg.stages:
        for i in range(stage.depth):
            blocks.append({"block": stage.block, "rep": cfg.rep,
                           "in_ch": in_ch, "out_ch": stage.out_ch, "expand_ratio": stage.expand,
                           "stride": stage.stride if i == 0 else 1,
                           "attn": _attn(stage.attn, round(in_ch * stage.expand)),
                           "dilation": stage.dilation if i == stage.depth - 1 else 1,
                           "act": cfg.act})
            if stage.block == "ir":
                blocks[-1]["tied"] = cfg.tied
            in_ch = stage.out_ch
    if cfg.hidden is not None:
        if len(cfg.hidden) != len(blocks):
            raise ValueError(f"hidden has {len(cfg.hidden)} widths for {len(blocks)} blocks")
        for kwargs, mid in zip(blocks, cfg.hidden, strict=True):
            kwargs["mid_ch"] = mid
    return blocks


class SpeckNet(nn.Module):
    """Returns (heatmap, size, offset) at ``stride`` (4 or 8; see ``CenterNetHead``)."""

    # NOTE: stay float in int8 exports (export/quantize.py). The heatmap branch: on the
    # held-out split the int8 nano lost 7 mAP50 points with it quantized, 0.5 without
    # (fake-quant, 50 images). The first block's expand and depthwise convs (the tensor between
    # them): dynamic weight decay leaves most expand channels a small range beside a few at
    # ReLU6's 6, per-tensor int8 flattens them and the depthwise conv amplifies the error; the
    # 75-minute DWD nano's int8 size output fell to cosine 0.973 (the gate is 0.98), 0.994 with
    # these float, at 1.07x LiteRT int8 latency (bench/int8_islands.py, issue 15's note).
    int8_float_modules = ("head.heatmap", "blocks.0.expand", "blocks.0.dw")

    def __init__(self, cfg: SpeckNetCfg) -> None:
        super().__init__()
        self.cfg = cfg
        self.stride = cfg.head_stride
        self.stem = _STEMS[cfg.stem](3, cfg.stem_ch, cfg.act, cfg.rep)
        self.blocks = nn.ModuleList(_BLOCKS[kw.pop("block")](**kw) for kw in _block_kwargs(cfg))
        levels = 3 if cfg.head_stride == 4 else 2  # FPN levels: strides 4, 8, 16 or 8, 16
        self.taps = tuple(n - 1 for n in accumulate(st.depth for st in cfg.stages))[-levels:]
        n = cfg.neck_ch
        self.lateral = nn.ModuleList(ConvNormAct(st.out_ch, n, 1, act=None)
                                     for st in cfg.stages[-levels:])
        self.context = nn.Sequential(*(_CONTEXT[name](cfg.stages[-1].out_ch, cfg.act)
                                       for name in cfg.context))
        self.smooth = nn.ModuleList(DepthwiseSeparableConv(n, n, act=cfg.act, tied=cfg.tied)
                                    for _ in range(levels - 1))
        self.head = CenterNetHead(n, cfg.num_classes, head_channels=cfg.head_ch,
                                  act=cfg.head_act)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone + FPN neck: (N, 3, H, W) -> (N, neck_ch, H/stride, W/stride)."""
        x = self.stem(x)
        taps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                taps.append(x)
        taps[-1] = self.context(taps[-1])  # (N, C, H/16, W/16); identity without context
        levels = [lat(t) for lat, t in zip(self.lateral, taps, strict=True)]  # fine -> coarse
        top = levels[-1]
        for fine, smooth in zip(reversed(levels[:-1]), self.smooth, strict=True):
            top = smooth(fine + F.interpolate(top, size=fine.shape[-2:], mode="bilinear"))
        return top

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.head(self.features(x))


_PRESETS = {
    "pico": SpeckNetCfg(stem_ch=8, stages=(
        StageCfg(16, 1, expand=3.0), StageCfg(24, 2, expand=3.0, attn="tiedse"),
        StageCfg(48, 2, expand=4.0, attn="tiedse", dilation=2)), neck_ch=32, head_ch=32),
    "nano": SpeckNetCfg(),
    "small": SpeckNetCfg(stem_ch=24, stages=(
        StageCfg(32, 2, expand=4.0), StageCfg(64, 3, expand=4.0, attn="tiedse"),
        StageCfg(96, 4, expand=4.0, attn="tiedse", dilation=2)), neck_ch=64, head_ch=64),
}


def _create(preset: str, overrides: dict) -> SpeckNet:
    if "stages" in overrides:
        overrides["stages"] = tuple(s if isinstance(s, StageCfg) else StageCfg(**s)
                                    for s in overrides["stages"])
    for key in ("hidden", "tied", "context"):  # JSON configs hold lists
        if overrides.get(key) is not None:
            overrides[key] = tuple(overrides[key])
    return SpeckNet(replace(_PRESETS[preset], **overrides))


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_pico(**overrides) -> SpeckNet:
    return _create("pico", overrides)


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano(**overrides) -> SpeckNet:
    return _create("nano", overrides)


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_small(**overrides) -> SpeckNet:
    return _create("small", overrides)


def _nano_fused_stages(expand: float) -> tuple[StageCfg, ...]:
    first, *rest = _PRESETS["nano"].stages
    return (replace(first, block="fused", expand=expand), *rest)


def _nano_oct_stages() -> tuple[StageCfg, ...]:
    first, second, *rest = _PRESETS["nano"].stages
    return (replace(first, block="oct"), replace(second, block="oct"), *rest)


# Issue 15's design variants of nano, one option each (see the module docstring).
_NANO_VARIANTS = {
    "fused": {"stages": _nano_fused_stages(2.0)},
    "s2d": {"stem": "s2d"},
    "rep": {"rep": True},
    "s8": {"head_stride": 8},
    "oct": {"stages": _nano_oct_stages()},
    "tbc": {"tied": (2, 1)},
    "tgc": {"tied": (2, 2)},
    "fcb": {"context": ("fcb",)},
    "fcb-svn": {"context": ("fcb", "svn")},
}


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_fused(**overrides) -> SpeckNet:
    """nano with a Fused-MBConv stride-4 stage (expand 2: the dense 3x3 costs 2x the MACs)."""
    return _create("nano", {**_NANO_VARIANTS["fused"], **overrides})


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_s2d(**overrides) -> SpeckNet:
    """nano with a space-to-depth stem."""
    return _create("nano", {**_NANO_VARIANTS["s2d"], **overrides})


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_rep(**overrides) -> SpeckNet:
    """nano with RepVGG branches on every 3x3 conv (folded at export)."""
    return _create("nano", {**_NANO_VARIANTS["rep"], **overrides})


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_s8(**overrides) -> SpeckNet:
    """nano with its head at stride 8."""
    return _create("nano", {**_NANO_VARIANTS["s8"], **overrides})


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_oct(**overrides) -> SpeckNet:
    """nano with octave inverted residuals (gOctConv) in its stride-4 and stride-8 stages."""
    return _create("nano", {**_NANO_VARIANTS["oct"], **overrides})


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_tbc(**overrides) -> SpeckNet:
    """nano with TBC (B=2) expand 1x1s and neck pointwise 1x1s."""
    return _create("nano", {**_NANO_VARIANTS["tbc"], **overrides})


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_tgc(**overrides) -> SpeckNet:
    """nano with TGC (B=2, G=2) expand 1x1s and neck pointwise 1x1s."""
    return _create("nano", {**_NANO_VARIANTS["tgc"], **overrides})


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_fcb(**overrides) -> SpeckNet:
    """nano with an LRNNet FCB on its stride-16 features."""
    return _create("nano", {**_NANO_VARIANTS["fcb"], **overrides})


@register_model(input_size=(3, 320, 320), task="detection")
def specknet_nano_fcb_svn(**overrides) -> SpeckNet:
    """nano with an LRNNet FCB, then SVN's reduced non-local context, at stride 16."""
    return _create("nano", {**_NANO_VARIANTS["fcb-svn"], **overrides})
