"""COCO evaluation through faster-coco-eval, on hand-made records."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.evaluate import evaluate
from models.validate import MAX_DETS

NAMES = ["bird", "drone", "kite"]


def _gt() -> list[dict]:
    """Two images: small and medium objects of two classes; the third class never appears."""
    return [
        {"image_id": "a", "width": 640, "height": 480, "labels": np.array([0, 0, 1]),
         "boxes": np.array([[10, 10, 20, 18], [300, 200, 306, 206], [100, 100, 160, 150]],
                           dtype=np.float32)},
        {"image_id": "b", "width": 640, "height": 480, "labels": np.array([1, 0]),
         "boxes": np.array([[400, 50, 470, 110], [50, 400, 62, 412]], dtype=np.float32)},
    ]


def _perfect(gt: list[dict]) -> list[dict]:
    return [{"image_id": g["image_id"], "boxes": g["boxes"].copy(),
             "scores": np.linspace(0.9, 0.5, len(g["labels"])), "labels": g["labels"].copy()}
            for g in gt]


def test_perfect_predictions_score_one(tmp_path: Path) -> None:
    m = evaluate(_gt(), _perfect(_gt()), NAMES, pr_curve=tmp_path / "pr.png")
    for value in (m.map50_95, m.map50, m.map75, m.ap_small, m.ap_medium, m.ar, m.ar_small):
        assert value == pytest.approx(1.0)
    assert math.isnan(m.ap_large)  # no large objects: undefined, not 0 or -1
    assert [c.num_gt for c in m.per_class] == [3, 2, 0]
    assert m.per_class[0].ap == pytest.approx(1.0) and m.per_class[1].ap50 == pytest.approx(1.0)
    assert math.isnan(m.per_class[2].ap)
    assert (m.num_images, m.num_gt, m.num_predictions) == (2, 5, 5)


def test_shifted_box_lowers_map() -> None:
    preds = _perfect(_gt())
    preds[1]["boxes"][0] += np.array([5, 5, 5, 5], dtype=np.float32)  # drone: IoU 0.70
    m = evaluate(_gt(), preds, NAMES)
    assert m.map50_95 < 0.95
    assert m.map50 == pytest.approx(1.0)  # still a hit at IoU 0.5
    assert m.per_class[1].ap < 1.0 and m.per_class[0].ap == pytest.approx(1.0)
    assert m.ap_small == pytest.approx(1.0)  # the moved box is medium


def test_small_object_miss_shows_in_ap_small() -> None:
    preds = _perfect(_gt())
    preds[0]["boxes"][1] += np.array([6, 0, 6, 0], dtype=np.float32)  # 6 px bird: no overlap
    m = evaluate(_gt(), preds, NAMES)
    assert m.ap_small < 1.0 and m.ar_small < 1.0
    assert m.ap_medium == pytest.approx(1.0)


def test_empty_predictions_score_zero() -> None:
    m = evaluate(_gt(), [], NAMES)
    assert m.map50_95 == 0.0 and m.map50 == 0.0 and m.ap_small == 0.0
    assert m.num_predictions == 0
    no_boxes = [{"image_id": "a", "boxes": np.zeros((0, 4)), "scores": np.zeros(0),
                 "labels": np.zeros(0, dtype=int)}]
    assert evaluate(_gt(), no_boxes, NAMES).map50 == 0.0


def test_wrong_class_does_not_count() -> None:
    preds = _perfect(_gt())
    for p in preds:
        p["labels"] = np.where(p["labels"] == 1, 2, p["labels"])  # every drone called a kite
    m = evaluate(_gt(), preds, NAMES)
    assert m.per_class[1].ap50 == 0.0  # drones: never found
    assert m.per_class[0].ap50 == pytest.approx(1.0)
    assert math.isnan(m.per_class[2].ap50)  # kites: no ground truth, false positives only
    assert m.map50 == pytest.approx(0.5)


def test_pr_curve_png_written(tmp_path: Path) -> None:
    path = tmp_path / "plots" / "pr.png"
    preds = _perfect(_gt())
    preds[0]["boxes"][0] += 100  # one miss, so the curve is not flat
    m = evaluate(_gt(), preds, NAMES, pr_curve=path)
    assert m.pr_curve == path
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 5000


def test_to_dict_is_json_and_table_renders() -> None:
    m = evaluate(_gt(), _perfect(_gt()), NAMES)
    d = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert d["map50"] == pytest.approx(1.0) and d["ap_large"] is None
    assert d["per_class"][2] == {"name": "kite", "ap": None, "ap50": None, "num_gt": 0}
    text = str(m)
    assert "small" in text and "drone" in text and "1.000" in text


def test_max_dets_caps_detections_per_image() -> None:
    gt = [{"image_id": 0, "width": 1000, "height": 100, "labels": np.zeros(50, dtype=int),
           "boxes": np.array([[20 * i, 10, 20 * i + 8, 18] for i in range(50)], float)}]
    preds = _perfect(gt)
    assert evaluate(gt, preds, NAMES, max_dets=10).ar == pytest.approx(0.2)
    assert evaluate(gt, preds, NAMES, max_dets=100).ar == pytest.approx(1.0)


def test_hundreds_of_objects_per_image_are_not_capped_by_default_evaluation() -> None:
    gt = [{"image_id": 0, "width": 2000, "height": 400, "labels": np.zeros(300, dtype=int),
           "boxes": np.array([[20 * (i % 100), 10 + 100 * (i // 100), 20 * (i % 100) + 8,
                               18 + 100 * (i // 100)] for i in range(300)], float)}]
    preds = _perfect(gt)
    assert evaluate(gt, preds, NAMES).ar == pytest.approx(100 / 300)  # COCO's default 100
    assert evaluate(gt, preds, NAMES, max_dets=MAX_DETS).ar == pytest.approx(1.0)


def test_operating_point_of_perfect_predictions_keeps_them_all() -> None:
    m = evaluate(_gt(), _perfect(_gt()), NAMES)
    point = m.operating_point
    assert (point.precision, point.recall, point.f1) == (1.0, 1.0, 1.0)
    assert point.score_threshold == pytest.approx(0.5)  # the lowest score of a hit
    assert m.to_dict()["operating_point"]["score_threshold"] == pytest.approx(0.5)
    assert "operating point score >= 0.50" in str(m)


def test_bad_inputs_rejected() -> None:
    with pytest.raises(ValueError, match="no ground truth"):
        evaluate(_gt(), [{"image_id": "zzz", "boxes": np.zeros((0, 4)), "scores": [],
                          "labels": []}], NAMES)
    bad = _gt()
    bad[0]["labels"] = np.array([0, 0, 3])
    with pytest.raises(ValueError, match="labels"):
        evaluate(bad, [], NAMES)


def test_tiny_ap_counts_objects_under_8_px_at_iou_0_3() -> None:
    gt, pred = _gt(), _perfect(_gt())
    pred[0]["boxes"][1] += [3, 0, 3, 0]  # the 6x6 px bird, 3 px off: IoU 1/3
    m = evaluate(gt, pred, NAMES)
    assert m.ap30_tiny == pytest.approx(1.0) and m.ap_small < 1.0
    pred[0]["boxes"][1] += [1, 0, 1, 0]  # 4 px off: IoU 0.2
    assert evaluate(gt, pred, NAMES).ap30_tiny == pytest.approx(0.0)
    pred = _perfect(gt)
    pred[1]["boxes"][1] += [100, 100, 100, 100]  # the 12x12 px bird missed: not tiny
    assert evaluate(gt, pred, NAMES).ap30_tiny == pytest.approx(1.0)
    big = [{**g, "boxes": g["boxes"] * 2} for g in gt]  # nothing under 8 px
    assert math.isnan(evaluate(big, _perfect(big), NAMES).ap30_tiny)
