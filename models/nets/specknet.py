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
- The heatmap branch stays float in int8 exports (``int8_float_modules``): it is the one
  part of the net that does not survive per-tensor int8 activations (see the class).
- ``hidden`` lets a pruned net state each inverted residual's expanded width explicitly
  (``models.prune`` rebuilds nets through it); ``None`` derives it from the expand ratios.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from itertools import accumulate

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks.conv_bn_act import ConvNormAct
from ..blocks.create_attn import AttnLayer
from ..blocks.depthwise import DepthwiseSeparableConv, InvertedResidual
from ..blocks.tied import TiedSE
from ..heads.centernet import CenterNetHead
from ..registry import register_model

TIED_BLOCKS = 4  # TiedSE blocks B (tiny widths; the paper's 64x saving is at B=8)


@dataclass(frozen=True)
class StageCfg:
    out_ch: int
    depth: int
    stride: int = 2
    expand: float = 4.0
    attn: str | None = None
    dilation: int = 1  # applied to the last block of the stage


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
            blocks.append({"in_ch": in_ch, "out_ch": stage.out_ch, "expand_ratio": stage.expand,
                           "stride": stage.stride if i == 0 else 1,
                           "attn": _attn(stage.attn, round(in_ch * stage.expand)),
                           "dilation": stage.dilation if i == stage.depth - 1 else 1,
                           "act": cfg.act})
            in_ch = stage.out_ch
    if cfg.hidden is not None:
        if len(cfg.hidden) != len(blocks):
            raise ValueError(f"hidden has {len(cfg.hidden)} widths for {len(blocks)} blocks")
        for kwargs, mid in zip(blocks, cfg.hidden, strict=True):
            kwargs["mid_ch"] = mid
    return blocks


class SpeckNet(nn.Module):
    """Returns (heatmap, size, offset) at stride 4 (see ``CenterNetHead``)."""

    stride = 4
    # NOTE: stays float in int8 exports (export/quantize.py): on the held-out split the int8
    # nano lost 7 mAP50 points with this branch quantized, 0.5 without (fake-quant, 50 images).
    int8_float_modules = ("head.heatmap",)

    def __init__(self, cfg: SpeckNetCfg) -> None:
        super().__init__()
        self.cfg = cfg
        self.stem = ConvNormAct(3, cfg.stem_ch, 3, 2, act=cfg.act)
        self.blocks = nn.ModuleList(InvertedResidual(**kw) for kw in _block_kwargs(cfg))
        self.taps = tuple(n - 1 for n in accumulate(st.depth for st in cfg.stages))
        c4, c8, c16 = (cfg.stages[k].out_ch for k in range(3))
        n = cfg.neck_ch
        self.lateral = nn.ModuleList(ConvNormAct(c, n, 1, act=None) for c in (c4, c8, c16))
        self.smooth = nn.ModuleList(DepthwiseSeparableConv(n, n, act=cfg.act) for _ in range(2))
        self.head = CenterNetHead(n, cfg.num_classes, head_channels=cfg.head_ch,
                                  act=cfg.head_act)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone + FPN neck: (N, 3, H, W) -> (N, neck_ch, H/4, W/4)."""
        x = self.stem(x)
        taps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                taps.append(x)
        p4, p8, p16 = (lat(t) for lat, t in zip(self.lateral, taps, strict=True))
        p8 = self.smooth[0](p8 + F.interpolate(p16, size=p8.shape[-2:], mode="bilinear"))
        return self.smooth[1](p4 + F.interpolate(p8, size=p4.shape[-2:], mode="bilinear"))

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
    if "hidden" in overrides and overrides["hidden"] is not None:
        overrides["hidden"] = tuple(overrides["hidden"])
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
