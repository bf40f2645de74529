"""Sliced and full-frame prediction with a fake detector that reads coloured squares."""

import cv2
import numpy as np
import pytest
import torch

from models.predict import SliceConfig, predict_full_frame, predict_sliced

COLOURS = np.array([[255, 0, 0], [0, 255, 0]], dtype=np.uint8)  # class 0 red, class 1 green
CONFIG = SliceConfig(tile_width=128, tile_height=96, overlap=32, batch_size=4)


class FakeDetector:
    """'Detects' every pure-red or pure-green blob in each tile as its bounding box, in tile
    pixels (pixel-edge convention): what a perfect detector would see, cut objects included."""

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def __call__(self, batch: torch.Tensor) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        assert batch.dtype == torch.float32 and batch.ndim == 4 and batch.shape[1] == 3
        assert batch.is_contiguous() and batch.min() >= 0 and batch.max() <= 1
        self.batch_sizes.append(len(batch))
        out = []
        for tile in (batch.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy():
            boxes, classes = [], []
            for label, colour in enumerate(COLOURS):
                mask = np.all(tile == colour, axis=-1).astype(np.uint8)
                n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
                for x, y, w, h, _ in stats[1:n]:
                    boxes.append([x, y, x + w, y + h])
                    classes.append(label)
            boxes_np = np.array(boxes, dtype=np.float32).reshape(-1, 4)
            out.append((boxes_np, np.full(len(boxes), 0.9, np.float32), np.array(classes)))
        return out


def _scene(boxes: list[list[int]], labels: list[int], width: int, height: int) -> np.ndarray:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    for (x0, y0, x1, y1), label in zip(boxes, labels, strict=True):
        image[y0:y1, x0:x1] = COLOURS[label]
    return image


def _sorted(boxes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    rows = np.concatenate([boxes, labels[:, None]], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


# 500 x 300 frame, 128 x 96 tiles, 32 px overlap: x origins 0, 96, 192, 288, 372;
# y origins 0, 64, 128, 192, 204. Objects at most 30 px (overlap - 2 * margin).
STRADDLERS = [
    [120, 20, 140, 40],  # across tile column 0's right side (x = 128) and column 1's left
    [90, 55, 110, 75],  # across a corner where four tiles meet
    [370, 190, 400, 210],  # into the snapped last row and column
    [0, 280, 25, 300],  # on the frame's corner
    [480, 0, 500, 12],  # on the frame's right edge
]


def _random_objects(rng: np.random.Generator, width: int, height: int,
                    count: int) -> list[list[int]]:
    taken = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in STRADDLERS:
        taken[max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1] = True
    boxes: list[list[int]] = []
    while len(boxes) < count:
        w, h = rng.integers(2, 31, 2)
        x0, y0 = rng.integers(0, width - w + 1), rng.integers(0, height - h + 1)
        if not taken[max(y0 - 1, 0):y0 + h + 1, max(x0 - 1, 0):x0 + w + 1].any():
            taken[max(y0 - 1, 0):y0 + h + 1, max(x0 - 1, 0):x0 + w + 1] = True
            boxes.append([int(x0), int(y0), int(x0 + w), int(y0 + h)])
    return boxes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sliced_recovers_every_object_once(seed: int) -> None:
    rng = np.random.default_rng(seed)
    boxes = STRADDLERS + _random_objects(rng, 500, 300, 25)
    labels = rng.integers(0, 2, len(boxes))
    detector = FakeDetector()
    found = predict_sliced(_scene(boxes, labels, 500, 300), detector, CONFIG)
    np.testing.assert_array_equal(_sorted(found.boxes, found.labels),
                                  _sorted(np.array(boxes, np.float32), labels))
    assert found.boxes.dtype == np.float32 and found.labels.dtype == np.int64
    assert detector.batch_sizes == [4] * 6 + [1]  # 5 x 5 tiles in batches of 4


def test_without_cut_rule_cut_copies_survive_nms() -> None:
    image = _scene([[120, 20, 140, 40]], [0], 500, 300)  # 8 px visible in column 0
    cfg = SliceConfig(tile_width=128, tile_height=96, overlap=32, edge_margin=None)
    found = predict_sliced(image, FakeDetector(), cfg)
    np.testing.assert_array_equal(_sorted(found.boxes, found.labels),
                                  [[120, 20, 128, 40, 0], [120, 20, 140, 40, 0]])


def test_static_batch_pads_every_call() -> None:
    cfg = SliceConfig(tile_width=128, tile_height=96, overlap=32, batch_size=4,
                      static_batch=True)
    detector = FakeDetector()
    image = _scene([[480, 280, 500, 300]], [1], 500, 300)
    found = predict_sliced(image, detector, cfg)
    assert detector.batch_sizes == [4] * 7
    np.testing.assert_array_equal(found.boxes, [[480, 280, 500, 300]])


def test_frame_smaller_than_a_tile() -> None:
    image = _scene([[5, 5, 15, 20]], [1], 60, 40)  # padded with grey, which is not a class
    found = predict_sliced(image, FakeDetector(), CONFIG)
    np.testing.assert_array_equal(found.boxes, [[5, 5, 15, 20]])
    np.testing.assert_array_equal(found.labels, [1])


def test_score_threshold_and_max_detections() -> None:
    def detector(batch: torch.Tensor) -> list:
        boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], np.float32)
        scores = np.array([0.2, 0.9, 0.6], np.float32)
        return [(boxes, scores, np.zeros(3, int))] * len(batch)

    cfg = SliceConfig(tile_width=128, tile_height=96, score_threshold=0.5, max_detections=1)
    found = predict_sliced(np.zeros((96, 128, 3), np.uint8), detector, cfg)
    np.testing.assert_array_equal(found.boxes, [[20, 20, 30, 30]])
    np.testing.assert_allclose(found.scores, [0.9])
    record = found.record("img")
    assert record["image_id"] == "img" and len(record["boxes"]) == 1


def test_full_frame_scales_boxes_back() -> None:
    boxes = [[40, 40, 120, 100], [300, 200, 380, 300], [500, 20, 620, 140]]
    image = _scene(boxes, [0, 1, 0], 640, 480)
    found = predict_full_frame(image, FakeDetector(), SliceConfig(tile_width=320,
                                                                  tile_height=320))
    np.testing.assert_array_equal(np.sort(found.labels), [0, 0, 1])
    np.testing.assert_allclose(_sorted(found.boxes, found.labels)[:, :4],
                               _sorted(np.array(boxes, np.float32), np.array([0, 1, 0]))[:, :4],
                               atol=2.0)  # one downscaled pixel


def test_tiny_objects_vanish_full_frame_but_not_sliced() -> None:
    boxes = [[100 * i + 7, 300, 100 * i + 9, 302] for i in range(10)]  # 2 x 2 px
    image = _scene(boxes, [0] * 10, 1280, 720)
    cfg = SliceConfig(tile_width=320, tile_height=320, overlap=0.2)
    assert len(predict_sliced(image, FakeDetector(), cfg)) == 10
    assert len(predict_full_frame(image, FakeDetector(), cfg)) == 0
