"""Calibration (and parity) inputs for a tiled detector: tiles of the model's input size, cut
from full-resolution images by the device's own grid (``firmware_py.tiling.TileGrid``).

A detector runs on tiles, never on a whole frame resized to the input, so its activation
ranges are those of tiles: object scale is native, and border tiles carry the grid's fill
padding where a frame is smaller than a tile. Calibrating on resized frames would shrink every
object and shift the ranges int8 must cover.

Choices of ours:

- Source: a YOLO ``data.yaml`` (its ``split``, ``train`` for calibration) or a folder of
  images (searched recursively).
- Spread: images are shuffled (seeded) and each gives ``ceil(count / images)`` tiles chosen at
  random from its grid, so a small budget still covers many scenes rather than all tiles of a
  few. Tiles of one image are adjacent in the result; order does not matter to observers.
- Pixels become the model input exactly as on the device: RGB ``[0, 1]``, then
  ``(x - mean) / std`` from the bundle's :class:`~firmware_py.manifest.InputSpec`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from firmware_py.manifest import InputSpec
from firmware_py.tiling import TileGrid
from models.data.boxes import IMAGE_SUFFIXES, read_image
from models.predict import to_batch

from . import ExportError

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml")


def is_data_yaml(source: str | Path) -> bool:
    return Path(source).suffix.lower() in YAML_SUFFIXES


def image_paths(source: str | Path, split: str = "train") -> list[Path]:
    """Images of a YOLO ``data.yaml`` split, or of a folder (sorted)."""
    source = Path(source)
    if is_data_yaml(source):
        from models.data.yolo import read_yolo

        return [r.path for r in read_yolo(source, split).records]
    if not source.is_dir():
        raise FileNotFoundError(f"image folder {source} does not exist")
    paths = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ExportError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {source}")
    return paths


def normalise(batch: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """``(B, 3, H, W)`` RGB in ``[0, 1]`` -> the model input described by ``spec``."""
    if spec.color == "BGR":
        batch = batch.flip(1)
    mean = torch.tensor(spec.mean, dtype=batch.dtype).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=batch.dtype).view(1, 3, 1, 1)
    return (batch - mean) / std


def image_tiles(paths: Sequence[Path], count: int, spec: InputSpec, overlap: float | int = 0.2,
                seed: int = 0, desc: str = "calibration tiles") -> list[torch.Tensor]:
    """``count`` normalised ``(1, 3, th, tw)`` tiles (``th, tw`` from ``spec.shape``) cut from
    ``paths`` by the device grid, spread over as many images as possible."""
    if count < 1:
        raise ExportError(f"need at least one tile, asked for {count}")
    if not paths:
        raise ExportError("no images to cut tiles from")
    tile_h, tile_w = spec.shape[-2:]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    per_image = math.ceil(count / len(paths))
    tiles: list[torch.Tensor] = []
    with tqdm(total=count, desc=desc, unit="tile", leave=False) as bar:
        for i in order:
            image = read_image(paths[i])
            grid = TileGrid(image.shape[1], image.shape[0], tile_w, tile_h, overlap)
            take = min(per_image, len(grid), count - len(tiles))
            picked = np.sort(rng.choice(len(grid), size=take, replace=False))
            batch = normalise(to_batch(grid.crop(image, picked)), spec)  # (take, 3, th, tw)
            tiles.extend(batch.split(1))
            bar.update(take)
            if len(tiles) >= count:
                break
    if len(tiles) < count:
        log.warning("only %d tiles available from %d images (asked for %d)", len(tiles),
                    len(paths), count)
    return tiles
