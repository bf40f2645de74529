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
from numpy.lib.stride_tricks import sliding_window_view

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


def max_filter(heatmap: np.ndarray, kernel: int) -> np.ndarray:
    """``kernel`` x ``kernel`` maximum over the last two axes, stride 1, ``-inf`` padding
    (separable: rows, then columns)."""
    if kernel % 2 != 1:
        raise ValueError(f"peak_kernel must be odd, got {kernel}")
    pad = kernel // 2
    width = [(0, 0)] * (heatmap.ndim - 2)
    padded = np.pad(heatmap, width + [(0, 0), (pad, pad)], constant_values=-np.inf)
    rows = sliding_window_view(padded, kernel, axis=-1).max(axis=-1)
    padded = np.pad(rows, width + [(pad, pad), (0, 0)], constant_values=-np.inf)
    return sliding_window_view(padded, kernel, axis=-2).max(axis=-1)


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
    if spec.heatmap_is_logits:
        heatmap = _sigmoid(heatmap)
    peaks = heatmap == max_filter(heatmap, spec.peak_kernel)
    scores = np.where(peaks, heatmap, np.float32(-1)).reshape(n, -1)  # (N, C*H*W)
    scale = np.float32(spec.stride if spec.size_unit == "stride" else 1)
    return [_boxes_at(size[i], offset[i], scores[i], (h, w), scale, spec) for i in range(n)]


def _boxes_at(size: np.ndarray, offset: np.ndarray, scores: np.ndarray, grid: tuple[int, int],
              scale: np.float32, spec: CenterNetDecode) -> Detections:
    # NOTE: threshold first, then the stable top-k of the few survivors: the same set and
    # order as top-k-then-threshold, without sorting the whole map.
    index = np.flatnonzero(scores >= spec.score_threshold)
    index = index[np.argsort(-scores[index], kind="stable")[:spec.max_detections]]
    score = scores[index]
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
