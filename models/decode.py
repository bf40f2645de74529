"""CenterNet decoding, the PyTorch reference (Zhou et al., "Objects as Points", arXiv
1904.07850, Sec. 4 "From points to bounding boxes").

Peaks are heatmap values equal to their ``peak_kernel`` x ``peak_kernel`` max-pool (the paper's
3x3 max-pool in place of NMS on the heatmap); the ``max_detections`` highest peaks over all
classes are kept, then those scoring at least ``score_threshold``; a peak at cell ``(x, y)``
gives the box centred on ``((x + ox) * stride, (y + oy) * stride)`` with the size head's
``(w, h)``; class-wise NMS at ``nms_iou`` (1 = off) removes duplicates.

The device decodes with ``firmware_py/decode.py`` (numpy) from the same
:class:`~firmware_py.manifest.CenterNetDecode` spec; this file implements the same semantics
independently in torch (its own max-pool, top-k and NMS) and the tests hold the two equal.
Conventions shared by both (choices of ours): size ``(w, h)`` and offset ``(x, y)`` channel
order, negative sizes clamped to 0, boxes ``xyxy`` in input pixels and not clipped, ties in
score keep the flattened ``(class, y, x)`` order, ``peak_kernel`` odd.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from firmware_py.manifest import CenterNetDecode


def peaks(heatmap: Tensor, kernel: int = 3) -> Tensor:
    """Boolean ``(N, C, H, W)``: cells equal to their ``kernel`` x ``kernel`` maximum."""
    if kernel % 2 != 1:
        raise ValueError(f"peak_kernel must be odd, got {kernel}")
    return heatmap == F.max_pool2d(heatmap, kernel, stride=1, padding=kernel // 2)


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """``(N, M)`` IoU of ``xyxy`` boxes; 0 where the union is empty."""
    lo = torch.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    hi = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # (N, M, 2)
    inter = (hi - lo).clamp(min=0).prod(dim=-1)  # (N, M)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(dim=-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(dim=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def class_nms(boxes: Tensor, scores: Tensor, labels: Tensor, iou: float) -> Tensor:
    """Greedy class-wise NMS: kept indices in descending score order (stable for ties)."""
    order = torch.sort(scores, descending=True, stable=True).indices
    b, lab = boxes[order].double(), labels[order]
    suppress = ((box_iou(b, b) > iou) & (lab[:, None] == lab[None, :])).cpu()  # (K, K)
    alive = torch.ones(len(order), dtype=torch.bool)
    for i in range(len(order)):  # the greedy pass is sequential: run it on the host
        if alive[i]:
            alive[i + 1:] &= ~suppress[i, i + 1:]
    return order[alive.to(order.device)]


def decode(outputs: tuple[Tensor, Tensor, Tensor], spec: CenterNetDecode
           ) -> list[dict[str, Tensor]]:
    """``(heatmap (N, C, H, W), size (N, 2, H, W), offset (N, 2, H, W))`` -> per image
    ``{"boxes": (K, 4) xyxy input pixels, "scores": (K,), "labels": (K,) int64}``, in
    descending score order."""
    heatmap, size, offset = (t.detach().float() for t in outputs)
    n, c, h, w = heatmap.shape
    if c != spec.num_classes:
        raise ValueError(f"heatmap has {c} channels, the spec says {spec.num_classes}")
    if spec.heatmap_is_logits:
        heatmap = heatmap.sigmoid()
    scores = torch.where(peaks(heatmap, spec.peak_kernel), heatmap,
                         torch.full_like(heatmap, -1.0)).reshape(n, -1)  # (N, C*H*W)
    k = min(spec.max_detections, c * h * w)
    top_scores, top = torch.sort(scores, dim=1, descending=True, stable=True)
    top_scores, top = top_scores[:, :k], top[:, :k]  # (N, k)
    scale = float(spec.stride) if spec.size_unit == "stride" else 1.0
    return [_boxes_at(size[i], offset[i], top[i], top_scores[i], w, scale, spec)
            for i in range(n)]


def _boxes_at(size: Tensor, offset: Tensor, index: Tensor, score: Tensor, width: int,
              scale: float, spec: CenterNetDecode) -> dict[str, Tensor]:
    keep = score >= spec.score_threshold
    index, score = index[keep], score[keep]
    label = index // (size.shape[1] * width)
    cell = index % (size.shape[1] * width)
    y, x = cell // width, cell % width
    half = size[:, y, x].clamp(min=0) * scale / 2  # (2, K)
    cx = (x.float() + offset[0, y, x]) * spec.stride
    cy = (y.float() + offset[1, y, x]) * spec.stride
    boxes = torch.stack([cx - half[0], cy - half[1], cx + half[0], cy + half[1]], dim=1)
    if spec.nms_iou < 1.0 and len(score) > 1:
        kept = class_nms(boxes, score, label, spec.nms_iou)
        boxes, score, label = boxes[kept], score[kept], label[kept]
    return {"boxes": boxes, "scores": score, "labels": label.long()}
