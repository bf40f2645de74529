"""Torch reference decode vs the device's numpy decode, and the encode -> decode round trip."""

import numpy as np
import pytest
import torch

from firmware_py.decode import decode_centernet
from firmware_py.manifest import CenterNetDecode
from models.decode import box_iou, decode
from models.losses.centernet import encode_targets

SPECS = [
    CenterNetDecode(num_classes=3),
    CenterNetDecode(num_classes=3, heatmap_is_logits=True, score_threshold=0.6, nms_iou=0.3),
    CenterNetDecode(num_classes=3, size_unit="stride", peak_kernel=5, max_detections=7),
    CenterNetDecode(num_classes=3, stride=8, peak_kernel=1, nms_iou=1.0, score_threshold=0.0),
]


def _random_maps(seed: int, logits: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    heat = torch.rand(2, 3, 12, 16, generator=g)
    heat = torch.logit(heat) if logits else heat
    size = torch.rand(2, 2, 12, 16, generator=g) * 40 - 2  # a few negative sizes
    offset = torch.rand(2, 2, 12, 16, generator=g)
    return heat, size, offset


def _assert_same(torch_dets: list[dict], numpy_dets: list) -> None:
    assert len(torch_dets) == len(numpy_dets)
    for t, n in zip(torch_dets, numpy_dets, strict=True):
        assert t["labels"].tolist() == n.labels.tolist()
        np.testing.assert_allclose(t["scores"].numpy(), n.scores, rtol=0, atol=1e-6)
        np.testing.assert_allclose(t["boxes"].numpy(), n.boxes, rtol=0, atol=1e-4)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_torch_and_numpy_agree_on_random_maps(spec: CenterNetDecode, seed: int) -> None:
    maps = _random_maps(seed, spec.heatmap_is_logits)
    reference = decode(maps, spec)
    assert sum(len(d["scores"]) for d in reference) > 4
    _assert_same(reference, decode_centernet([m.numpy() for m in maps], spec))
    nhwc = [m.permute(0, 2, 3, 1).numpy() for m in maps]
    _assert_same(reference, decode_centernet(nhwc, spec, layout="NHWC"))


def test_nms_in_the_reference_removes_overlaps() -> None:
    maps = _random_maps(3, logits=False)
    spec = CenterNetDecode(num_classes=3, nms_iou=0.2)
    for det in decode(maps, spec):
        for c in det["labels"].unique():
            boxes = det["boxes"][det["labels"] == c]
            iou = box_iou(boxes, boxes) - torch.eye(len(boxes))
            assert float(iou.max()) <= 0.2


def _separate_boxes(rng: np.random.Generator, count: int, tile: int) -> np.ndarray:
    """``count`` disjoint boxes of 6-40 px (any fractional position) inside the tile."""
    boxes: list[np.ndarray] = []
    while len(boxes) < count:
        w, h = rng.uniform(6, 40, size=2)
        x0, y0 = rng.uniform(0, tile - w), rng.uniform(0, tile - h)
        box = np.array([x0, y0, x0 + w, y0 + h], np.float32)
        if all(box[0] >= b[2] or b[0] >= box[2] or box[1] >= b[3] or b[1] >= box[3]
               for b in boxes):
            boxes.append(box)
    return np.stack(boxes)


@pytest.mark.parametrize("size_unit", ["pixels", "stride"])
@pytest.mark.parametrize("seed", range(4))
def test_encoded_targets_decode_back_to_the_boxes(size_unit: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tile, stride, classes = 128, 4, 3
    boxes = [torch.from_numpy(_separate_boxes(rng, 12, tile)) for _ in range(2)]
    labels = [torch.from_numpy(rng.integers(0, classes, 12)) for _ in range(2)]
    t = encode_targets(boxes, labels, classes, (tile // stride,) * 2, stride, size_unit)
    spec = CenterNetDecode(num_classes=classes, stride=stride, size_unit=size_unit)
    maps = (t.heatmap, t.size, t.offset)
    for dets in (decode(maps, spec), decode_centernet([m.numpy() for m in maps], spec)):
        for i, det in enumerate(dets):
            got_boxes = det["boxes"].numpy() if isinstance(det, dict) else det.boxes
            got_labels = det["labels"].numpy() if isinstance(det, dict) else det.labels
            got_scores = det["scores"].numpy() if isinstance(det, dict) else det.scores
            order = np.lexsort(got_boxes.T[::-1])
            ref = np.lexsort(boxes[i].numpy().T[::-1])
            np.testing.assert_allclose(got_boxes[order], boxes[i].numpy()[ref], atol=1e-4)
            np.testing.assert_array_equal(got_labels[order], labels[i].numpy()[ref])
            np.testing.assert_array_equal(got_scores, 1.0)


def test_round_trip_of_tiny_boxes_at_tile_edges() -> None:
    boxes = torch.tensor([[0.0, 0.0, 6.0, 6.0], [40.0, 40.0, 46.0, 80.0],
                          [58.3, 121.9, 64.4, 128.0], [121.5, 0.0, 128.0, 6.5]])
    labels = torch.tensor([0, 0, 1, 0])
    t = encode_targets([boxes], [labels], 2, (32, 32), 4)
    spec = CenterNetDecode(num_classes=2)
    (det,) = decode((t.heatmap, t.size, t.offset), spec)
    order = torch.sort(det["boxes"][:, 0]).indices
    torch.testing.assert_close(det["boxes"][order], boxes, atol=1e-4, rtol=0)
    assert det["labels"][order].tolist() == [0, 0, 1, 0]
