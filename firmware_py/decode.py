"""CenterNet decoding on the device, numpy only (Zhou et al., "Objects as Points", arXiv
1904.07850, Sec. 4 "From points to bounding boxes"), driven entirely by a
:class:`~firmware_py.manifest.CenterNetDecode` spec.

Per image: peaks are the heatmap values equal to their ``peak_kernel`` x ``peak_kernel``
neighbourhood maximum (the paper's 3x3 max-pool); the ``max_detections`` highest peaks over all
classes are kept, then those scoring at least ``score_threshold``; each peak at cell ``(x, y)``
gives the box centred on ``((x + ox) * stride, (y + oy) * stride)`` with width and height read
from the size head, and class-wise NMS at ``nms_iou`` removes duplicates.

The same semantics are implemented in PyTorch in ``models/decode.py`` (the host reference);
the tests hold the two equal. Conventions (choices of ours, shared with the target encoding in
``models/losses/centernet.py``):

- Channels: size ``(w, h)``, offset ``(x, y)``; ``size_unit`` says whether sizes are input
  pixels or strides. Negative predicted sizes are clamped to 0.
- Boxes are ``xyxy`` floats in input (tile) pixels, pixel-edge convention (a box over columns
  3..5 has ``x0=3, x1=6``); they are not clipped to the tile.
- Peak neighbourhoods are padded with ``-inf`` (max-pool semantics), so border cells can peak.
  ``peak_kernel`` must be odd. Ties between peaks keep the flattened ``(class, y, x)`` order.
- Outputs arrive as float arrays (dequantised by the runtime backend), ``NCHW`` or ``NHWC``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .manifest import CenterNetDecode
from .nms import nms

Layout = Literal["NCHW", "NHWC"]


@dataclass(frozen=True)
class Detections:
    """Detections of one image, in descending score order."""

    boxes: np.ndarray  # (K, 4) float32 xyxy in input pixels
    scores: np.ndarray  # (K,) float32
    labels: np.ndarray  # (K,) int64 heatmap channel

    def __len__(self) -> int:
        return len(self.scores)


def to_nchw(array: np.ndarray, layout: Layout) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 4:
        raise ValueError(f"expected a 4-d {layout} array, got shape {array.shape}")
    if layout == "NHWC":
        return array.transpose(0, 3, 1, 2)  # (N, C, H, W)
    if layout != "NCHW":
        raise ValueError(f"unknown layout {layout!r}; use 'NCHW' or 'NHWC'")
    return array


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # overflow-free logistic


def decode_centernet(outputs: Sequence[np.ndarray], spec: CenterNetDecode,
                     layout: Layout = "NCHW") -> list[Detections]:
    """Decode ``(heatmap, size, offset)`` (the model's output order) into per-image
    detections. Shapes ``(N, C, H, W)``, ``(N, 2, H, W)``, ``(N, 2, H, W)`` in ``layout``."""
    heatmap, size, offset = (to_nchw(a, layout).astype(np.float32, copy=False)
                             for a in outputs)
    n, c, h, w = heatmap.shape
    if c != spec.num_classes or size.shape != (n, 2, h, w) or offset.shape != (n, 2, h, w):
        raise ValueError(f"heatmap {heatmap.shape}, size {size.shape}, offset {offset.shape} "
                         f"do not match a {spec.num_classes}-class CenterNet head")
    if spec.peak_kernel % 2 != 1:
        raise ValueError(f"peak_kernel must be odd, got {spec.peak_kernel}")
    if spec.heatmap_is_logits:
        heatmap = _sigmoid(heatmap)
    scale = np.float32(spec.stride if spec.size_unit == "stride" else 1)
    return [_boxes_at(size[i], offset[i], *_peaks(heatmap[i], spec), (h, w), scale, spec)
            for i in range(n)]


def _peaks(heatmap: np.ndarray, spec: CenterNetDecode) -> tuple[np.ndarray, np.ndarray]:
    """Flat ``(C*H*W)`` indices and scores of the peaks scoring at least the threshold, in
    descending score order (stable), at most ``max_detections``.

    NOTE: only cells above the threshold can be kept, so the peak test (value equals the
    maximum of its ``peak_kernel`` window, ``-inf`` padded) runs on those few cells instead
    of max-filtering the whole map: the same set and order, a fraction of the work."""
    c, h, w = heatmap.shape
    flat = heatmap.reshape(-1)
    index = np.flatnonzero(flat >= spec.score_threshold)
    if len(index):
        pad = spec.peak_kernel // 2
        padded = np.pad(heatmap, [(0, 0), (pad, pad), (pad, pad)], constant_values=-np.inf)
        label, cell = np.divmod(index, h * w)
        y, x = np.divmod(cell, w)
        dy, dx = np.divmod(np.arange(spec.peak_kernel ** 2), spec.peak_kernel)
        window = padded[label[:, None], y[:, None] + dy, x[:, None] + dx]  # (K, k*k)
        index = index[flat[index] >= window.max(axis=1)]
    index = index[np.argsort(-flat[index], kind="stable")[:spec.max_detections]]
    return index, flat[index]


def _boxes_at(size: np.ndarray, offset: np.ndarray, index: np.ndarray, score: np.ndarray,
              grid: tuple[int, int], scale: np.float32, spec: CenterNetDecode) -> Detections:
    h, w = grid
    label, cell = np.divmod(index, h * w)
    y, x = np.divmod(cell, w)
    half = np.maximum(size[:, y, x], 0) * scale / 2  # (2, K)
    stride = np.float32(spec.stride)
    cx = (x.astype(np.float32) + offset[0, y, x]) * stride
    cy = (y.astype(np.float32) + offset[1, y, x]) * stride
    boxes = np.stack([cx - half[0], cy - half[1], cx + half[0], cy + half[1]], axis=1)
    dets = Detections(boxes.astype(np.float32), score.astype(np.float32), label.astype(np.int64))
    if spec.nms_iou >= 1.0 or len(dets) < 2:
        return dets
    kept = nms(dets.boxes, dets.scores, dets.labels, spec.nms_iou)
    return Detections(dets.boxes[kept], dets.scores[kept], dets.labels[kept])
