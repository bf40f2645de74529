"""Test helpers shared by the export and device tests: a tiny CenterNet-shaped net,
structured (not random) scenes, and a small signed bundle built by the real exporter."""

from __future__ import annotations

import math
from pathlib import Path

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


def tiny_model(num_classes: int = 3) -> TinyCenterNet:
    """A seeded TinyCenterNet with non-trivial BN statistics (so folding is exercised) and
    boxes of about 4 pixels (the size head's bias), like the small objects Specks is for."""
    torch.manual_seed(0)
    model = TinyCenterNet(num_classes).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
        model.size.bias.fill_(4.0)
    return model


def make_bundle(dest: Path, key_dir: Path, size: int = SIZE,
                precisions: tuple[str, ...] = ("fp32",), formats: tuple[str, ...] = ("tflite",),
                name: str = "tiny"):
    """A signed CenterNet bundle of a TinyCenterNet at ``dest`` (``size`` x ``size`` tiles),
    signed by the key ``key_dir/specks.key``, generated there unless it exists. Returns
    ``(manifest, private_key_path, public_key_path)``."""
    from export.bundle import export_bundle
    from export.keys import generate_keypair, load_private_key
    from firmware_py.manifest import CenterNetDecode

    private, public = Path(key_dir) / "specks.key", Path(key_dir) / "specks.pub"
    if not private.exists():
        private, public = generate_keypair(key_dir)
    calibration = [scene(i, size) for i in range(8)] if "int8" in precisions else None
    manifest = export_bundle(
        tiny_model(), dest, name=name, example_input=scene(1000, size),
        validation=[scene(1000 + i, size) for i in range(2)],
        private_key=load_private_key(private), calibration=calibration, formats=formats,
        precisions=precisions, decode=CenterNetDecode(num_classes=3, score_threshold=0.05),
        labels=("a", "b", "c"), allow_parity_failure=True)
    return manifest, private, public
