"""Training tiles from large images: fixed-size crops around objects and at random positions,
with flips, scale jitter and HSV colour jitter (numpy/OpenCV, deterministic under a seed).

Small objects vanish when a large frame is downscaled to the detector's input, so training
(like inference on the device) works on full-resolution tiles. Choices (no paper fixes them):

- With probability ``object_prob`` (and when the image has objects) a tile is placed around an
  object picked uniformly: the object lies fully inside, at a uniform random offset, and the
  window stays inside the image when the image is large enough. Otherwise the tile is at a
  uniform random position; such "background" tiles may still contain objects, which keep
  their labels.
- Scale jitter: a source window of side ``tile_size / zoom`` is resampled to ``tile_size``,
  ``zoom`` log-uniform in ``augment.scale``. Windows start on whole pixels, so with zoom 1
  the tile is an exact copy of the image pixels (no resampling blur on 4 px objects).
- Areas outside the image (small images, windows at an edge) are padded with ``fill`` (114,
  the YOLO grey).
- Boxes are clipped to the tile; a box keeps its label only if at least ``min_visible``
  (default 0.5) of its area is inside the tile; others are dropped (too little of the object
  to learn from, and not enough to penalise finding it either).
- Colour jitter follows YOLOv5's HSV gains: each channel is scaled by ``1 + U(-g, g)`` (hue
  wraps around).
- Compression: with probability ``augment.jpeg`` the finished tile goes through a JPEG encode
  and decode (OpenCV, quality uniform in ``augment.jpeg_quality``), because the device reads
  lossy camera streams and video files whose 8x8 DCT blocking blurs and shifts 4-8 px objects
  (issue 15, item 3: the shipped nano lost recall and precision on the mp4 bench clips that it
  kept on the same frames stored losslessly). Off by default, and not in the zoo recipe (a
  from-scratch run with it and real backgrounds lost held-out accuracy: README).
- Sample ``i`` draws from ``default_rng([seed, epoch, i])``: the same sample for any worker
  count and order; call :meth:`TileDataset.set_epoch` for new draws each epoch.

Returns an image tensor ``float32 (3, T, T)`` RGB in ``[0, 1]`` and ``dict(boxes=(K, 4) float32
xyxy pixels in the tile, labels=(K,) int64)``; :func:`collate_fn` batches them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from .boxes import ImageRecord, read_image


@dataclass
class TileAugment:
    """Augmentation strengths; :meth:`off` gives plain crops."""

    hflip: float = 0.5  # probability
    vflip: float = 0.0  # probability; off by default: sky-above-ground scenes are not symmetric
    scale: tuple[float, float] = (0.75, 1.33)  # zoom range
    hsv: tuple[float, float, float] = (0.015, 0.5, 0.3)  # hue, saturation, value gains
    jpeg: float = 0.0  # probability of a JPEG round trip
    jpeg_quality: tuple[int, int] = (30, 95)  # quality range, both ends included

    def __post_init__(self) -> None:
        if not 0 <= self.jpeg <= 1:
            raise ValueError(f"jpeg: a probability in [0, 1], got {self.jpeg}")
        lo, hi = self.jpeg_quality
        if not 1 <= lo <= hi <= 100:
            raise ValueError(f"jpeg_quality: (low, high) with 1 <= low <= high <= 100, "
                             f"got {self.jpeg_quality}")

    @classmethod
    def off(cls) -> TileAugment:
        return cls(hflip=0.0, vflip=0.0, scale=(1.0, 1.0), hsv=(0.0, 0.0, 0.0))


def _window_start(rng: np.random.Generator, size: int, crop: float,
                  span: tuple[float, float] | None) -> int:
    """Integer start of a ``crop``-wide window on an axis of ``size`` pixels, containing
    ``span`` (an object's extent) when given, and inside the image when possible."""
    inside = (min(0.0, size - crop), max(0.0, size - crop))
    lo, hi = inside
    if span is not None:
        lo, hi = max(lo, span[1] - crop), min(hi, span[0])
        if math.ceil(lo) > math.floor(hi):  # cannot be both inside the image and around it
            lo, hi = span[1] - crop, span[0]
    lo, hi = math.ceil(lo), math.floor(hi)
    if lo > hi:  # object wider than the window: centre it
        return round((span[0] + span[1] - crop) / 2)
    return int(rng.integers(lo, hi + 1))


def hsv_jitter(rng: np.random.Generator, image: np.ndarray,
               gains: tuple[float, float, float]) -> np.ndarray:
    """Scale hue, saturation and value of an RGB ``uint8`` image by ``1 + U(-g, g)``."""
    if not any(gains):
        return image
    r = 1 + rng.uniform(-1, 1, 3) * np.asarray(gains)
    x = np.arange(256, dtype=np.float32)
    lut = np.stack([(x * r[0]) % 180, np.clip(x * r[1], 0, 255), np.clip(x * r[2], 0, 255)],
                   1).astype(np.uint8)  # (256, 3)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)  # (H, W, 3), hue in [0, 180)
    hsv = np.stack([cv2.LUT(hsv[..., c], lut[:, c]) for c in range(3)], -1)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def jpeg_roundtrip(rng: np.random.Generator, image: np.ndarray, prob: float,
                   quality: tuple[int, int]) -> np.ndarray:
    """An RGB ``uint8`` image encoded and decoded as JPEG with probability ``prob``, at a
    quality drawn uniformly from ``quality``; draws nothing when ``prob`` is 0."""
    if prob <= 0 or rng.random() >= prob:
        return image
    level = int(rng.integers(quality[0], quality[1] + 1))
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, level])
    if not ok:
        raise RuntimeError(f"OpenCV could not JPEG-encode a {image.shape} tile")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


class TileDataset(Dataset):
    """``len(records) * tiles_per_image`` tiles; sample ``i`` comes from image
    ``i // tiles_per_image``."""

    def __init__(self, records: Sequence[ImageRecord], tile_size: int = 320,
                 object_prob: float = 0.75, tiles_per_image: int = 1,
                 augment: TileAugment | None = None, min_visible: float = 0.5, seed: int = 0,
                 fill: int = 114, cache: bool = False) -> None:
        self.records = list(records)
        self.tile_size, self.object_prob = tile_size, object_prob
        self.tiles_per_image = tiles_per_image
        self.augment = augment if augment is not None else TileAugment()
        self.min_visible, self.seed, self.fill = min_visible, seed, fill
        self.epoch = 0
        self._cache: dict[int, np.ndarray] | None = {} if cache else None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records) * self.tiles_per_image

    def _image(self, i: int) -> np.ndarray:
        if self._cache is None:
            return read_image(self.records[i].path)
        if i not in self._cache:
            self._cache[i] = read_image(self.records[i].path)
        return self._cache[i]

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tile ``index`` as numpy: (``uint8 (T, T, 3)`` RGB, boxes ``(K, 4)``, labels ``(K,)``)."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        i = index // self.tiles_per_image
        record, image = self.records[i], self._image(i)
        t, aug = self.tile_size, self.augment
        zoom = math.exp(rng.uniform(math.log(aug.scale[0]), math.log(aug.scale[1])))
        crop = t / zoom
        target = None
        if len(record.boxes) and rng.random() < self.object_prob:
            target = record.boxes[int(rng.integers(len(record.boxes)))]
        h, w = image.shape[:2]
        sx = _window_start(rng, w, crop, None if target is None else (target[0], target[2]))
        sy = _window_start(rng, h, crop, None if target is None else (target[1], target[3]))
        tile = self._warp(image, zoom, sx, sy)
        boxes, labels = self._boxes(record, zoom, sx, sy)
        if rng.random() < aug.hflip:
            tile, boxes[:, [0, 2]] = tile[:, ::-1], t - boxes[:, [2, 0]]
        if rng.random() < aug.vflip:
            tile, boxes[:, [1, 3]] = tile[::-1], t - boxes[:, [3, 1]]
        tile = hsv_jitter(rng, np.ascontiguousarray(tile), aug.hsv)
        return jpeg_roundtrip(rng, tile, aug.jpeg, aug.jpeg_quality), boxes, labels

    def _warp(self, image: np.ndarray, zoom: float, sx: int, sy: int) -> np.ndarray:
        # Pixel-edge mapping u' = zoom * (u - s); for OpenCV's pixel centres (c = u - 0.5)
        # that is c' = zoom * c + zoom * (0.5 - s) - 0.5: an exact integer shift at zoom 1.
        m = np.array([[zoom, 0, zoom * (0.5 - sx) - 0.5], [0, zoom, zoom * (0.5 - sy) - 0.5]])
        flags = cv2.INTER_NEAREST if zoom == 1 else cv2.INTER_LINEAR
        return cv2.warpAffine(image, m, (self.tile_size, self.tile_size), flags=flags,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(self.fill,) * 3)

    def _boxes(self, record: ImageRecord, zoom: float, sx: int,
               sy: int) -> tuple[np.ndarray, np.ndarray]:
        boxes = zoom * (record.boxes.astype(np.float32) - np.float32([sx, sy, sx, sy]))  # (K, 4)
        clipped = np.clip(boxes, 0, self.tile_size)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        seen = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
        keep = (seen > 0) & (seen >= self.min_visible * area)
        return clipped[keep].astype(np.float32), record.labels[keep].copy()

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        tile, boxes, labels = self.sample(index)
        image = torch.from_numpy(np.ascontiguousarray(tile)).permute(2, 0, 1)  # (3, T, T)
        return image.float().div_(255), {"boxes": torch.from_numpy(boxes),
                                         "labels": torch.from_numpy(labels)}


def collate_fn(batch: Sequence[tuple[torch.Tensor, dict[str, torch.Tensor]]]
               ) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Stack images to ``(B, 3, T, T)``; targets stay a list (their K differ)."""
    images, targets = zip(*batch, strict=True)
    return torch.stack(images), list(targets)
