"""Sliced inference on full-resolution images on the host (SAHI: Akyon et al., "Slicing Aided
Hyper Inference and Fine-tuning for Small Object Detection", arXiv 2202.06934, Sec. 3.2), and
a full-frame predictor (the whole image downscaled to one tile) to compare against.

The image is cut by :class:`firmware_py.tiling.TileGrid`, the same grid the device uses, and
a ``detect_tiles`` callable runs on batches of tiles: it takes ``(B, 3, th, tw)`` float32 RGB
in ``[0, 1]`` and returns, per tile, ``(boxes (K, 4) xyxy tile pixels, scores (K,), classes
(K,))`` (numpy, or CPU tensors). Choices of ours, where SAHI leaves them open:

- Merge: boxes shifted to frame pixels (clipped to the frame), then the copies of an object
  that a tile side cuts are dropped where the neighbouring tile sees more of it
  (:meth:`TileGrid.cut_mask`, ``edge_margin`` pixels of slack; ``None`` keeps them), then
  class-wise NMS (``firmware_py.nms``). SAHI merges cut copies by intersection-over-smaller
  instead; the cut rule needs no threshold and, for objects up to the overlap, leaves exactly
  the whole copies, which NMS then merges.
- SAHI optionally adds a full-image pass to the slices; here the two are separate predictors
  so they can be compared (:func:`predict_full_frame`).
- Full frame: letterboxed (aspect ratio kept, ``cv2.INTER_AREA``), padded at the right or
  bottom with the grid's fill grey, boxes scaled back per axis.
- ``static_batch`` pads the last batch with fill tiles (their outputs are ignored) for
  models exported with a fixed batch size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from firmware_py.nms import nms
from firmware_py.tiling import DEFAULT_FILL, TileGrid

TileOutput = tuple[np.ndarray, np.ndarray, np.ndarray]
DetectTiles = Callable[[torch.Tensor], Sequence[TileOutput]]


@dataclass
class SliceConfig:
    """Tiling and merging settings for :func:`predict_sliced` (tile size also sets the
    full-frame input of :func:`predict_full_frame`)."""

    tile_width: int = 320
    tile_height: int = 320
    overlap: float | int = 0.2  # fraction of the tile side (float) or pixels (int)
    batch_size: int = 8
    static_batch: bool = False
    score_threshold: float = 0.0
    nms_iou: float = 0.5
    edge_margin: float | None = 1.0
    max_detections: int | None = None
    fill: int = DEFAULT_FILL

    def grid(self, width: int, height: int) -> TileGrid:
        return TileGrid(width, height, self.tile_width, self.tile_height, self.overlap,
                        self.fill)


@dataclass
class Detections:
    """Detections on one image: ``boxes (K, 4)`` float32 xyxy pixels, ``scores (K,)``
    float32, ``labels (K,)`` int64, sorted by descending score."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def record(self, image_id: object) -> dict:
        """A prediction record for :func:`models.evaluate.evaluate`."""
        return {"image_id": image_id, "boxes": self.boxes, "scores": self.scores,
                "labels": self.labels}


def to_batch(tiles: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """``(B, H, W, 3)`` uint8 -> ``(B, 3, H, W)`` float32 in ``[0, 1]``, contiguous."""
    x = torch.from_numpy(tiles).to(device).permute(0, 3, 1, 2)  # (B, 3, H, W)
    return x.contiguous().float().div_(255)


def _numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _unpack(outputs: Sequence[TileOutput], count: int, threshold: float
            ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    if len(outputs) < count:
        raise ValueError(f"detect_tiles returned {len(outputs)} results for {count} tiles")
    unpacked = []
    for boxes, scores, classes in outputs[:count]:
        b = _numpy(boxes).astype(np.float32).reshape(-1, 4)
        s = _numpy(scores).astype(np.float32).reshape(-1)
        c = _numpy(classes).astype(np.int64).reshape(-1)
        keep = s >= threshold
        unpacked.append((b[keep], s[keep], c[keep]))
    return unpacked


def merge(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, nms_iou: float,
          max_detections: int | None = None) -> Detections:
    """Drop empty boxes, class-wise NMS, sort by score, keep the best ``max_detections``."""
    nonempty = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores, labels = boxes[nonempty], scores[nonempty], labels[nonempty]
    keep = np.asarray(nms(boxes, scores, labels, nms_iou), dtype=np.int64)
    keep = keep[np.argsort(-scores[keep], kind="stable")][:max_detections]
    return Detections(boxes[keep], scores[keep], labels[keep])


@torch.inference_mode()
def predict_sliced(image: np.ndarray, detect_tiles: DetectTiles,
                   config: SliceConfig | None = None,
                   device: str | torch.device = "cpu") -> Detections:
    """Detect on every tile of an ``(H, W, 3)`` uint8 RGB image and merge into frame pixels."""
    cfg = config if config is not None else SliceConfig()
    grid = cfg.grid(image.shape[1], image.shape[0])
    buffer = np.empty((cfg.batch_size, cfg.tile_height, cfg.tile_width, 3), dtype=np.uint8)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(grid), cfg.batch_size):
        idx = np.arange(start, min(start + cfg.batch_size, len(grid)))
        tiles = grid.crop(image, idx, out=buffer)
        if cfg.static_batch:
            buffer[len(idx):] = cfg.fill
            tiles = buffer
        outputs = _unpack(detect_tiles(to_batch(tiles, device)), len(idx), cfg.score_threshold)
        for tile, (boxes, scores, classes) in zip(idx, outputs, strict=True):
            tile_of = np.full(len(scores), tile, dtype=np.int64)
            found.append((grid.to_frame(boxes, tile_of), scores, classes, tile_of))
    boxes, scores, labels, tiles_of = (np.concatenate(parts) for parts in zip(
        *found, strict=True))
    if cfg.edge_margin is not None:  # NOTE: cut-copy rule in place of SAHI's IOS matching
        keep = ~grid.cut_mask(boxes, tiles_of, margin=cfg.edge_margin)
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    return merge(boxes.astype(np.float32), scores, labels, cfg.nms_iou, cfg.max_detections)


def letterbox(image: np.ndarray, width: int, height: int, fill: int = DEFAULT_FILL
              ) -> tuple[np.ndarray, tuple[float, float]]:
    """Resize keeping the aspect ratio to fit ``width`` x ``height``, pad right/bottom with
    ``fill``; returns the canvas and the per-axis scale ``(new_w / W, new_h / H)``."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    canvas = np.full((height, width, 3), fill, dtype=np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return canvas, (new_w / w, new_h / h)


@torch.inference_mode()
def predict_full_frame(image: np.ndarray, detect_tiles: DetectTiles,
                       config: SliceConfig | None = None,
                       device: str | torch.device = "cpu") -> Detections:
    """Downscale the whole image to one tile, detect once, scale boxes back to frame pixels."""
    cfg = config if config is not None else SliceConfig()
    canvas, (sx, sy) = letterbox(image, cfg.tile_width, cfg.tile_height, cfg.fill)
    batch = canvas[None]  # (1, th, tw, 3)
    if cfg.static_batch:
        batch = np.concatenate([batch, np.full((cfg.batch_size - 1, *canvas.shape), cfg.fill,
                                               dtype=np.uint8)])
    (boxes, scores, labels), = _unpack(detect_tiles(to_batch(batch, device)), 1,
                                       cfg.score_threshold)
    h, w = image.shape[:2]
    boxes = np.clip(boxes / np.float32([sx, sy, sx, sy]), 0, np.float32([w, h, w, h]))
    return merge(boxes, scores, labels, cfg.nms_iou, cfg.max_detections)

