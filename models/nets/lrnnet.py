"""LRNNet, a light-weight real-time segmentation net (Jiang et al., "LRNNet: A Light-Weighted
Network with Efficient Reduced Non-Local Operation for Real-Time Semantic Segmentation",
arXiv 2006.02706, Sec. 3, Fig. 1).

Structure (no public code exists; layer order from the paper's description):
- encoder: 3 ResNet-style stages of FCBs (``models.blocks.fcb``), each starting with a
  downsampling unit, at 1/2, 1/4, 1/8 of the input; the last stage keeps 1/8 and grows its
  receptive field with dilated FCBs instead of further downsampling;
- decoder: an SVN module (``models.blocks.svn``; reduced non-local attention over 8x8 + 4x4
  regional singular vectors, residual around it) on the 1/8 features;
- head: 1x1 classifier (with bias) -> bilinear upsample (``align_corners=False``) to the
  input size. Output: per-class logits (N, num_classes = 19, H, W).

Choices where the paper is silent (LRNNet is described as a modification of LEDNet,
arXiv 1905.02423, so LEDNet's encoder plan is used):
- widths 32 / 64 / 128; 3, 2 and 8 FCBs per stage; dilations of the last stage
  1, 2, 5, 9, 2, 5, 9, 17 (on the FCB's depthwise 3x3 only);
- downsampling unit (ENet / ERFNet): concat(3x3 stride-2 conv to ``out - in`` channels,
  2x2 max pool of the input) -> norm -> act; input sides must be multiples of 8;
- SVN reduced width C' = 64 (C/2), 3 power iterations; no auxiliary heads, no dropout.

Parameters (``count_params``): 664,162 at the defaults, against the paper's 0.68M;
``count_gflops`` at 3x512x1024: 16.4 GFLOPs (the 3 power iterations add 0.01).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks.create_act import ActLayer, create_act
from ..blocks.create_norm import NormLayer, create_norm
from ..blocks.fcb import FCB
from ..blocks.svn import SVN
from ..registry import register_model


@dataclass
class LRNNetConfig:
    widths: tuple[int, int, int] = (32, 64, 128)  # stages at 1/2, 1/4, 1/8
    depths: tuple[int, int] = (3, 2)  # FCBs in stages 1 and 2 (all dilation 1)
    dilations: tuple[int, ...] = (1, 2, 5, 9, 2, 5, 9, 17)  # one FCB each in stage 3
    svn_channels: int = 64  # C' = C3 / 2
    svn_grids: tuple[int, ...] = (8, 4)
    svn_iters: int = 3
    in_chans: int = 3
    num_classes: int = 19
    norm: str = "batchnorm"
    act: str = "relu"


class DownsamplingUnit(nn.Module):
    """concat(3x3 stride-2 conv, 2x2 max pool) -> norm -> act (ENet's initial block)."""

    def __init__(self, in_ch: int, out_ch: int, norm: NormLayer = "batchnorm",
                 act: ActLayer = "relu") -> None:
        super().__init__()
        if out_ch <= in_ch:
            raise ValueError(f"downsampling unit needs out_ch > in_ch; got {in_ch} -> {out_ch}")
        self.conv = nn.Conv2d(in_ch, out_ch - in_ch, 3, stride=2, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2, 2)
        self.bn = create_norm(norm, out_ch)
        self.act = create_act(act, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.conv(x), self.pool(x)], dim=1)  # (N, out_ch, H/2, W/2)
        return self.act(self.bn(y))


def _stage(in_ch: int, out_ch: int, dilations: tuple[int, ...], norm: NormLayer,
           act: ActLayer) -> nn.Sequential:
    return nn.Sequential(DownsamplingUnit(in_ch, out_ch, norm, act),
                         *(FCB(out_ch, d, norm, act) for d in dilations))


class LRNNet(nn.Module):
    def __init__(self, cfg: LRNNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w1, w2, w3 = cfg.widths
        self.encoder = nn.Sequential(
            _stage(cfg.in_chans, w1, (1,) * cfg.depths[0], cfg.norm, cfg.act),
            _stage(w1, w2, (1,) * cfg.depths[1], cfg.norm, cfg.act),
            _stage(w2, w3, tuple(cfg.dilations), cfg.norm, cfg.act),
        )
        self.decoder = SVN(w3, cfg.svn_channels, cfg.svn_grids, cfg.svn_iters,
                           norm=cfg.norm, act=cfg.act)
        self.classifier = nn.Conv2d(w3, cfg.num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.decoder(self.encoder(x))  # (N, C3, H/8, W/8)
        y = self.classifier(y)  # (N, classes, H/8, W/8)
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


def _create_lrnnet(**kwargs) -> LRNNet:
    return LRNNet(LRNNetConfig(**kwargs))


@register_model(input_size=(3, 512, 1024), task="segmentation")
def lrnnet(**overrides) -> LRNNet:
    """LRNNet for Cityscapes (19 classes) at 512x1024."""
    return _create_lrnnet(**overrides)
