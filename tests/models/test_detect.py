import json
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


def _checkpoint(tmp_path: Path, metrics: dict | None = None) -> Path:
    model = create_model("specknet-pico", num_classes=4)
    model.head.size.pred.bias.data.fill_(10.0)  # untrained, but every box is 10 px wide
    return save_checkpoint(tmp_path / "m.pt", {
        "model": "specknet-pico", "config": {"num_classes": 4},
        "state_dict": model.state_dict(),
        "meta": {"names": ["a", "b", "c", "d"], "metrics": metrics or {}}})


def test_json_is_a_coco_results_list_that_loads_against_ground_truth(tmp_path: Path) -> None:
    from faster_coco_eval import COCO

    image = tmp_path / "frame.png"
    write_image(image, sample_scene()[0][:300, :400])
    found = detect(_checkpoint(tmp_path), [str(image)], tmp_path / "out", score_threshold=0.0,
                   json_path=tmp_path / "out" / "dets.json")[0]
    entries = json.loads((tmp_path / "out" / "dets.json").read_text())
    assert len(entries) == len(found) > 0
    assert {e["image_id"] for e in entries} == {1}
    assert all(e["file_name"] == str(image) and 1 <= e["category_id"] <= 4 for e in entries)
    x, y, w, h = entries[0]["bbox"]
    np.testing.assert_allclose([x, y, x + w, y + h], found.boxes[0], atol=1e-3)
    truth = COCO({"images": [{"id": 1, "width": 400, "height": 300}], "annotations": [],
                  "categories": [{"id": i + 1, "name": n} for i, n in enumerate("abcd")]})
    assert len(truth.loadRes(entries).anns) == len(entries)


def test_top_k_per_tile_and_max_dets_per_image_cap_detections(tmp_path: Path) -> None:
    image = tmp_path / "frame.png"
    write_image(image, sample_scene()[0][:300, :400])  # 2x1 tiles of 320, overlap 0.2
    ckpt = _checkpoint(tmp_path)
    many = detect(ckpt, [str(image)], tmp_path / "a", score_threshold=0.0)[0]
    one = detect(ckpt, [str(image)], tmp_path / "b", score_threshold=0.0, top_k=1)[0]
    few = detect(ckpt, [str(image)], tmp_path / "c", score_threshold=0.0, max_dets=3)[0]
    assert len(many) > 3 and 1 <= len(one) <= 2 and len(few) == 3


def test_threshold_defaults_to_the_checkpoint_operating_point(tmp_path: Path) -> None:
    image = tmp_path / "frame.png"
    write_image(image, sample_scene()[0][:300, :400])
    point = {"score_threshold": 0.999, "precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 0.5}
    ckpt = _checkpoint(tmp_path, {"operating_point": point})
    assert len(detect(ckpt, [str(image)], tmp_path / "o")[0]) == 0  # untrained: all < 0.999
    assert len(detect(ckpt, [str(image)], tmp_path / "o", score_threshold=0.0)[0]) > 0
