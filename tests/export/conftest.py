"""Shared fixtures for the export tests: a tiny CenterNet-shaped net, a net with every gate
activation (``GatedNet``) and one with pools and an upsample (``PoolsNet``), structured (not
random) calibration images, a signing key pair, and ``run_cli`` (the export CLI in-process)."""

from __future__ import annotations

import argparse

import pytest
import torch
from torch import nn

from models.blocks.cbam import CBAM
from models.blocks.se import SE
from models.blocks.tied import TiedSE
from tests.bundles import TinyCenterNet, scene
from tests.bundles import tiny_model as _tiny_model


def run_cli(*argv: str) -> int:
    """Run ``specks keys|bundle|export ...`` in this process; its exit status."""
    from export.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="session")
def tiny_model() -> TinyCenterNet:
    return _tiny_model()


@pytest.fixture(scope="session")
def calibration() -> list[torch.Tensor]:
    return [scene(i) for i in range(16)]


@pytest.fixture(scope="session")
def validation() -> list[torch.Tensor]:
    return [scene(1000 + i) for i in range(4)]


@pytest.fixture(scope="session")
def keypair(tmp_path_factory: pytest.TempPathFactory):
    from export.keys import generate_keypair, load_private_key, load_public_key

    private, public = generate_keypair(tmp_path_factory.mktemp("keys"))
    return load_private_key(private), load_public_key(public)


@pytest.fixture(scope="session")
def tiny_net_cls() -> type[TinyCenterNet]:
    return TinyCenterNet


@pytest.fixture(scope="session")
def synth_yolo(tmp_path_factory: pytest.TempPathFactory):
    """A tiny two-class synthetic YOLO set: 64x64 images, 4 train and 4 val; data.yaml path."""
    from models.data.synth import SynthConfig, write_dataset

    cfg = SynthConfig(width=64, height=64, min_size=4, max_size=12, objects=(2, 4),
                      distractors=(1, 3), background_prob=0.0, classes=("drone", "bird"))
    return write_dataset(tmp_path_factory.mktemp("synth"), cfg, images=8, seed=3,
                         val_fraction=0.5)


class GatedNet(nn.Module):
    """Every sigmoid / softmax / tanh the nets use, on the TFLite int8 paths that differ:
    TiedSE (its sigmoid reads a reshape), SE (a conv), CBAM (an add, and a conv after a
    concat and a max pool), a sigmoid heatmap head, a softmax and a tanh head."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU6())
        self.attn = nn.Sequential(TiedSE(16, blocks=4), SE(16), CBAM(16, reduction=4))
        self.heatmap = nn.Conv2d(16, 3, 1)
        self.classes = nn.Conv2d(16, 4, 1)
        self.offset = nn.Conv2d(16, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.attn(self.stem(x))  # (N, 16, H/2, W/2)
        return (torch.sigmoid(self.heatmap(f)), torch.softmax(self.classes(f), dim=1),
                torch.tanh(self.offset(f)))


@pytest.fixture(scope="session")
def gated_model() -> GatedNet:
    return GatedNet().eval()


class PoolsNet(nn.Module):
    """CSNet's same-scale ops: a max pool on the input, an average pool and a bilinear
    upsample between convs."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.low = nn.Conv2d(8, 8, 1)
        self.side = nn.Conv2d(3, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        high = torch.relu(self.conv(x))  # (N, 8, H, W)
        low = self.low(nn.functional.avg_pool2d(high, 2)) + self.side(
            nn.functional.max_pool2d(x, 2))  # (N, 8, H/2, W/2)
        return high + nn.functional.interpolate(low, scale_factor=2.0, mode="bilinear")


@pytest.fixture(scope="session")
def pools_model() -> PoolsNet:
    return PoolsNet().eval()
