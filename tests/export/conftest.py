"""Shared fixtures for the export tests: a tiny CenterNet-shaped net, structured (not random)
calibration images, and a signing key pair."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

SIZE = 32


class TinyCenterNet(nn.Module):
    """Three CenterNet heads at stride 4: heatmap (sigmoid), size, offset."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
        )
        self.heatmap = nn.Conv2d(16, num_classes, 1)
        self.size = nn.Conv2d(16, 2, 1)
        self.offset = nn.Conv2d(16, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.body(x)  # (N, 16, H/4, W/4)
        return torch.sigmoid(self.heatmap(f)), self.size(f), self.offset(f)


def scene(seed: int, size: int = SIZE) -> torch.Tensor:
    """A (1, 3, size, size) image in [0, 1]: a smooth gradient background plus a few bright
    blobs -- structured like a real tile, unlike white noise."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    angle = float(torch.rand(1, generator=g)) * 2 * math.pi
    image = 0.3 + 0.3 * (math.cos(angle) * xx + math.sin(angle) * yy)
    image = image.expand(3, size, size).clone()
    for _ in range(3):
        cy, cx = torch.rand(2, generator=g)
        color = torch.rand(3, 1, 1, generator=g)
        blob = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.005)
        image = image * (1 - blob) + color * blob
    return image.clamp(0, 1)[None]


@pytest.fixture(scope="session")
def tiny_model() -> TinyCenterNet:
    torch.manual_seed(0)
    model = TinyCenterNet().eval()
    with torch.no_grad():  # non-trivial BN statistics so folding is exercised
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return model


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
