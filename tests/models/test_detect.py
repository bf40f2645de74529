from pathlib import Path

import numpy as np

from models.checkpoint import save_checkpoint
from models.data.boxes import read_image, write_image
from models.detect import detect, recall, sample_scene
from models.predict import Detections
from models.registry import create_model


def test_recall_counts_objects_matched_at_iou_half() -> None:
    truth = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    found = Detections(np.array([[1, 1, 11, 11]], np.float32), np.ones(1, np.float32),
                       np.zeros(1, np.int64))
    assert recall(found, truth) == 0.5
    assert recall(found, truth[:0]) == 1.0


def test_sample_scene_is_fixed_and_has_small_objects() -> None:
    (a, boxes), (b, _) = sample_scene(), sample_scene()
    assert np.array_equal(a, b) and a.shape == (720, 1280, 3)
    sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    assert len(boxes) >= 12 and sizes.max() <= 40


def test_detect_writes_an_annotated_image_per_input(tmp_path: Path) -> None:
    model = create_model("specknet-pico", num_classes=4)
    model.head.size.pred.bias.data.fill_(10.0)  # untrained, but every box is 10 px wide
    ckpt = save_checkpoint(tmp_path / "m.pt", {
        "model": "specknet-pico", "config": {"num_classes": 4},
        "state_dict": model.state_dict(), "meta": {"names": ["a", "b", "c", "d"]}})
    image = tmp_path / "frame.png"
    write_image(image, sample_scene()[0][:400, :500])
    results = detect(ckpt, [str(image)], tmp_path / "out", score_threshold=0.0)
    drawn = read_image(tmp_path / "out" / "frame_detections.png")
    assert drawn.shape == (400, 500, 3) and len(results) == 1
    assert len(results[0]) > 0  # threshold 0: every peak is a detection, all drawn
    assert not np.array_equal(drawn, read_image(image))
