"""CenterNet targets and training loss (Zhou et al., "Objects as Points", arXiv 1904.07850,
Sec. 3): ``L = L_k + 0.1 * L_size + 1 * L_off``.

Targets, at output stride ``R`` for a box with centre ``p`` (input pixels):

- heatmap: an unnormalised Gaussian ``exp(-((x - px)^2 + (y - py)^2) / (2 sigma^2))`` around
  the integer cell ``floor(p / R)``, the element-wise maximum where same-class Gaussians meet;
  its centre value is exactly 1, the keypoint the focal loss counts (``models/losses/focal.py``).
- size ``(w, h)`` and offset ``p / R - floor(p / R)`` (in strides, in ``[0, 1)``) at that cell.
- ``L_size`` and ``L_off`` are L1 over the object cells, divided by the number of objects N.

Gaussian radius (the paper leaves it to CornerNet, arXiv 1808.01244, Sec. 3.2): we port the
released code's rule -- on the box size in output cells, rounded up, the smallest of the three
corner-displacement radii that keep IoU >= 0.7, truncated to an integer; ``sigma = (2r + 1) /
6``, and the Gaussian is cut to the ``(2r + 1)^2`` window. NOTE: that code solves its
quadratics as ``(b + sqrt(b^2 - 4ac)) / 2`` without the ``2a`` (a known slip that gives larger
radii than the derivation); we keep the behaviour the published results were trained with.

Tiny objects. Specks must detect objects from ~6 px across, i.e. ~1.5 cells at stride 4, where
the rule above gives radius 0: a single hot cell whose neighbours, often almost as good a
centre for a box straddling a cell border, would be penalised as hard negatives. NOTE: we
floor the radius at ``min_radius = 1`` (sigma = 0.5 cell: the 4 edge neighbours get
e^-2 = 0.14, so their negative weight drops to 0.56; the diagonals get e^-4), which only
changes small boxes (square ones up to 3 cells, 12 px at stride 4; elongated ones such as
8 x 40 px).
A TTFNet-style elliptical Gaussian (sigma = 0.54 * w / 6) would shrink tiny peaks further,
the opposite of what a 1.5-cell object needs.

Choices of ours where the paper is silent:

- Size unit: input pixels by default (``size_unit="pixels"``, the manifest default), or
  strides as in the released code (``"stride"``); the decode spec's ``size_unit`` must match.
  NOTE: the weight 0.1 was tuned on stride units; in pixels ``L_size`` is R times larger,
  which for Specks' small objects (6-40 px) is still the scale of the paper's COCO term.
- NOTE: the paper's regression is over per-object slots, so two objects on one cell both pull
  it. We keep dense maps with one object per cell: the smaller box wins (small objects are
  the point of Specks); both still get their heatmap Gaussian, and N counts object cells.
- ``L_size`` follows Eq. 2's ``1/N sum |S - s|`` over both coordinates (the released code
  divides by 2N by averaging over the coordinates too).
- Boxes with zero width or height are ignored; a centre on the far border is clamped into the
  grid. Labels must lie in ``[0, num_classes)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from .focal import centernet_focal_loss

SizeUnit = Literal["pixels", "stride"]


@dataclass
class CenterNetTargets:
    heatmap: Tensor  # (N, C, H, W) Gaussian peaks, exactly 1 at object cells
    size: Tensor  # (N, 2, H, W) (w, h) at object cells, in size_unit
    offset: Tensor  # (N, 2, H, W) (x, y) sub-cell centre offset in strides, [0, 1)
    mask: Tensor  # (N, 1, H, W) 1 at object cells


def gaussian_radius(height: Tensor, width: Tensor, min_overlap: float = 0.7) -> Tensor:
    """CornerNet/CenterNet radius (in cells) for boxes of ``height`` x ``width`` cells: the
    smallest of the three corner-displacement cases, as in the released code (see module
    docstring)."""
    h, w = height.double(), width.double()
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + torch.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + torch.sqrt(b2 ** 2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + torch.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return torch.minimum(torch.minimum(r1, r2), r3)


def _encode_image(boxes: Tensor, labels: Tensor, num_classes: int, grid: tuple[int, int],
                  stride: int, size_unit: SizeUnit, min_overlap: float, min_radius: int
                  ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    h, w = grid
    dev = boxes.device
    heat = torch.zeros(num_classes, h * w, device=dev)
    size = torch.zeros(2, h * w, device=dev)
    offset = torch.zeros(2, h * w, device=dev)
    mask = torch.zeros(1, h * w, device=dev)
    boxes, labels = boxes.float().reshape(-1, 4), labels.long().reshape(-1)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got {labels.tolist()}")
    wh = boxes[:, 2:] - boxes[:, :2]  # (K, 2)
    keep = (wh > 0).all(dim=1)
    boxes, labels, wh = boxes[keep], labels[keep], wh[keep]
    k = len(labels)
    if k:
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2 / stride  # (K, 2) in cells
        cell = centre.floor().long()
        cell[:, 0].clamp_(0, w - 1)
        cell[:, 1].clamp_(0, h - 1)
        cells_wh = torch.ceil(wh / stride)
        radius = gaussian_radius(cells_wh[:, 1], cells_wh[:, 0], min_overlap).floor().long()
        radius = radius.clamp(min=min_radius)  # (K,)
        sigma = (2 * radius + 1).float() / 6
        dx = torch.arange(w, device=dev)[None] - cell[:, :1]  # (K, W)
        dy = torch.arange(h, device=dev)[None] - cell[:, 1:]  # (K, H)
        d2 = (dx[:, None, :] ** 2 + dy[:, :, None] ** 2).float()  # (K, H, W)
        window = ((dx.abs() <= radius[:, None])[:, None, :]
                  & (dy.abs() <= radius[:, None])[:, :, None])  # (K, H, W)
        gauss = torch.exp(-d2 / (2 * sigma[:, None, None] ** 2)) * window
        heat.scatter_reduce_(0, labels[:, None].expand(k, h * w), gauss.reshape(k, h * w),
                             "amax")
        flat = cell[:, 1] * w + cell[:, 0]  # (K,)
        order = torch.sort(wh.prod(dim=1), stable=True).indices  # smallest box first
        unique, inverse = torch.unique(flat[order], return_inverse=True)
        first = torch.full((len(unique),), k, device=dev).scatter_reduce_(
            0, inverse, torch.arange(k, device=dev), "amin")
        chosen = order[first]
        unit = stride if size_unit == "stride" else 1
        size[:, unique] = (wh[chosen] / unit).T
        offset[:, unique] = (centre[chosen] - cell[chosen].float()).T
        mask[:, unique] = 1.0
    return (heat.reshape(num_classes, h, w), size.reshape(2, h, w), offset.reshape(2, h, w),
            mask.reshape(1, h, w))


def encode_targets(boxes: Sequence[Tensor], labels: Sequence[Tensor], num_classes: int,
                   grid: tuple[int, int], stride: int = 4, size_unit: SizeUnit = "pixels",
                   min_overlap: float = 0.7, min_radius: int = 1) -> CenterNetTargets:
    """Per-image ``boxes (K, 4)`` xyxy input pixels and ``labels (K,)`` -> dense targets on an
    ``(H, W)`` output grid at ``stride``, on the boxes' device."""
    if size_unit not in ("pixels", "stride"):
        raise ValueError(f"size_unit must be 'pixels' or 'stride', got {size_unit!r}")
    parts = [_encode_image(b, lab, num_classes, grid, stride, size_unit, min_overlap,
                           min_radius) for b, lab in zip(boxes, labels, strict=True)]
    heat, size, offset, mask = (torch.stack(p) for p in zip(*parts, strict=True))
    return CenterNetTargets(heat, size, offset, mask)


class CenterNetLoss(nn.Module):
    """``(heatmap logits, size, offset)`` and per-image ``{"boxes", "labels"}`` targets ->
    ``(loss, {"heatmap", "size", "offset"})`` with the paper's weights 1, 0.1, 1."""

    def __init__(self, num_classes: int, stride: int = 4, size_unit: SizeUnit = "pixels",
                 heatmap_weight: float = 1.0, size_weight: float = 0.1,
                 offset_weight: float = 1.0, min_overlap: float = 0.7,
                 min_radius: int = 1) -> None:
        super().__init__()
        self.num_classes, self.stride, self.size_unit = num_classes, stride, size_unit
        self.weights = (heatmap_weight, size_weight, offset_weight)
        self.min_overlap, self.min_radius = min_overlap, min_radius

    def forward(self, outputs: tuple[Tensor, Tensor, Tensor], targets: Sequence[dict],
                image_size: Sequence[int] | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        heatmap, size, offset = outputs
        n, c, h, w = heatmap.shape
        if c != self.num_classes:
            raise ValueError(f"heatmap has {c} channels, the loss expects {self.num_classes}")
        if image_size is not None and tuple(image_size) != (h * self.stride, w * self.stride):
            raise ValueError(f"a {h}x{w} head at stride {self.stride} does not cover an input "
                             f"of {tuple(image_size)}")
        dev = heatmap.device
        t = encode_targets([d["boxes"].to(dev) for d in targets],
                           [d["labels"].to(dev) for d in targets], c, (h, w), self.stride,
                           self.size_unit, self.min_overlap, self.min_radius)
        num = t.mask.sum().clamp(min=1)
        heat_loss = centernet_focal_loss(heatmap, t.heatmap)
        size_loss = ((size.float() - t.size).abs() * t.mask).sum() / num
        offset_loss = ((offset.float() - t.offset).abs() * t.mask).sum() / num
        wk, ws, wo = self.weights
        loss = wk * heat_loss + ws * size_loss + wo * offset_loss
        return loss, {"heatmap": heat_loss.detach(), "size": size_loss.detach(),
                      "offset": offset_loss.detach()}
