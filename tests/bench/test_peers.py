"""The pure helpers of bench/peers.py: YOLO predictions to evaluator records, clip scoring,
artifact inputs, the README splice and the target check. None needs .venv-peers."""

from __future__ import annotations

import numpy as np
import pytest

from bench.peers import (
    README_BEGIN,
    README_END,
    ground_truth,
    native_input,
    ratio,
    score_frames,
    splice,
    targets,
    yolo_predictions,
)
from firmware_py.manifest import TensorSpec
from firmware_py.runtimes import to_artifact
from models.data.boxes import ImageRecord
from models.evaluate import evaluate

NAMES = ["drone", "bird", "vehicle", "person"]


@pytest.fixture
def records(tmp_path) -> list[ImageRecord]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(4):
        xy = rng.uniform(0, 500, (3, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(6, 30, (3, 2))], 1)
        out.append(ImageRecord(tmp_path / "images" / f"{i}.png", 640, 640, boxes,
                               rng.integers(0, 4, 3)))
    return out


def _payload(records: list[ImageRecord], names=NAMES) -> dict:
    """What peers_yolo.py predict writes: the truth as detections, in reverse order."""
    return {"names": names, "predictions": [
        {"image": str(r.path), "boxes": r.boxes.tolist(), "scores": [0.9] * len(r.boxes),
         "labels": r.labels.tolist()} for r in reversed(records)]}


def test_yolo_predictions_follow_record_order_and_score_perfectly(records):
    found = yolo_predictions(_payload(records), records, NAMES)
    for i, (record, pred) in enumerate(zip(records, found, strict=True)):
        assert pred["image_id"] == i
        np.testing.assert_allclose(pred["boxes"], record.boxes)
    metrics = evaluate(ground_truth(records), found, NAMES)
    assert metrics.map50 == pytest.approx(1.0)
    assert metrics.num_gt == metrics.num_predictions == 12


def test_yolo_predictions_match_paths_however_written(records, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = _payload(records)
    for p in payload["predictions"]:
        p["image"] = str(tmp_path.joinpath(p["image"]).relative_to(tmp_path))
    assert len(yolo_predictions(payload, records, NAMES)) == len(records)


def test_yolo_predictions_reject_mismatches(records):
    with pytest.raises(ValueError, match="classes"):
        yolo_predictions(_payload(records, NAMES[::-1]), records, NAMES)
    with pytest.raises(ValueError, match="no YOLO prediction"):
        yolo_predictions(_payload(records[1:]), records, NAMES)
    with pytest.raises(ValueError, match="outside the split"):
        yolo_predictions(_payload(records), records[1:], NAMES)


def _truth() -> list[dict]:
    return [{"frame": 0, "boxes": [[10, 10, 18, 18], [100, 100, 130, 130]], "labels": [0, 1]},
            {"frame": 1, "boxes": [[50, 50, 60, 60]], "labels": [2]}]


def test_score_frames_perfect_and_empty():
    truth = _truth()
    found = [{"frame": t["frame"], "boxes": t["boxes"], "scores": [0.5] * len(t["boxes"])}
             for t in truth]
    assert score_frames(truth, found, 0.5) == {"recall": 1.0, "recall_4_16px": 1.0,
                                              "precision": 1.0, "objects": 3}
    empty = [{"frame": t["frame"], "boxes": [], "scores": []} for t in truth]
    assert score_frames(truth, empty, 0.5)["recall"] == 0.0


def test_score_frames_sorts_by_score_and_splits_small_objects():
    truth = _truth()[:1]
    # a loose low-score copy listed first must not take the tight high-score match
    found = [{"frame": 0, "boxes": [[11, 11, 19, 19], [10, 10, 18, 18], [0, 0, 4, 4]],
              "scores": [0.2, 0.9, 0.1]}]
    r = score_frames(truth, found, 0.9)
    assert r["recall"] == 0.5  # the 30 px object is missed
    assert r["recall_4_16px"] == 1.0  # the 8 px one is found
    assert r["precision"] == pytest.approx(1 / 3)


def test_native_input_reads_layout_from_shape():
    x = np.random.default_rng(0).random((1, 3, 8, 8), dtype=np.float32)
    nchw = TensorSpec(name="a", shape=(1, 3, 8, 8), layout="NHWC", dtype="float32")
    np.testing.assert_array_equal(native_input(x, nchw), x)
    nhwc = TensorSpec(name="a", shape=(1, 8, 8, 3), layout="NHWC", dtype="int8",
                      quant_scale=1 / 255, quant_zero_point=-128)
    np.testing.assert_array_equal(native_input(x, nhwc), to_artifact(x, nhwc))
    with pytest.raises(ValueError, match="shape"):
        native_input(x, TensorSpec(name="a", shape=(1, 3, 4, 4), layout="NCHW",
                                   dtype="float32"))


def test_ratio_and_splice():
    assert ratio(10.0, 2.0) == 5.0
    assert ratio(None, 2.0) is None and ratio(1.0, 0.0) is None
    text = f"# Specks\n\n{README_BEGIN}\nold\n{README_END}\n\nafter\n"
    once = splice(text, "| new |\n")
    assert "old" not in once and "| new |" in once and once.endswith("after\n")
    assert splice(once, "| new |") == once
    with pytest.raises(ValueError, match="markers"):
        splice("# no markers", "x")


def test_targets_say_met_only_when_measured_reaches_goal():
    result = {
        "config": {"scenes": ["few"]},
        "latency": {"rows": [{"artifact": "tflite_int8", "yolo11n_over_specks": 4.9}]},
        "accuracy": {"specks": {"AP_small": 0.3}, "yolo11n": {"AP_small": 0.3}},
        "tiles": {"few/sahi": {"fps": 1.0, "recall": 0.80},
                  "few/dense": {"fps": 2.0, "recall": 0.5},
                  "few/sparse": {"fps": 4.0, "recall": 0.785}},
    }
    # latency 4.9x < 5x; equal AP_small; sparse 4.0x SAHI; recall 1.5 points below SAHI;
    # dense is no sparse mode, so it has no target
    assert [t["met"] for t in targets(result)] == [False, True, True, True]
    result["tiles"]["few/sparse"]["recall"] = 0.77
    assert targets(result)[-1]["met"] is False
    # nothing detected by either side decides nothing
    result["accuracy"] = {"specks": {"AP_small": 0.0}, "yolo11n": {"AP_small": 0.0}}
    result["tiles"]["few/sahi"]["recall"] = result["tiles"]["few/sparse"]["recall"] = 0.0
    assert [t["met"] for t in targets(result)] == [False, None, True, None]


def test_yolo26n_sits_beside_yolo11n_in_rows_table_and_targets():
    from bench.peers import _latency_row, markdown

    ms = {"specks/tflite_int8": 1.0, "yolo11n/tflite_int8": 4.0, "yolo26n/tflite_int8": 6.0}
    sizes = {"specks/tflite_int8": 200.0, "yolo11n/tflite_int8": 2900.0}
    row = _latency_row("tflite_int8", ms, sizes, {"yolo26n/pte_int8": "ExportError: x"})
    assert row["yolo11n_over_specks"] == 4.0 and row["yolo26n_over_specks"] == 6.0
    pte = _latency_row("pte_int8", ms, sizes, {"yolo26n/pte_int8": "ExportError: x"})
    assert pte["yolo26n_note"] == "ExportError: x" and pte["yolo11n_ms"] is None
    metrics = {"mAP50": 0.5, "mAP50-95": 0.3, "AP_small": 0.2, "AR_small": 0.4, "params": 2e6,
               "input": "whole image"}
    peer_run = {"batches": 10, "batch": 16, "imgsz": 640, "epochs": 1, "train_s": 60.0}
    result = {
        "config": {"machine": "cpu", "threads": 2, "minutes": 1.0, "frames": 1,
                   "scenes": []},
        "latency": {"rounds": 5, "rows": [row, pte]},
        "accuracy": {"specks": metrics, "yolo11n": metrics, "yolo26n": metrics, "images": 3,
                     "objects": 9},
        "training": {"specks": {"steps": 5, "batch": 16, "tile_size": 192, "train_s": 60.0},
                     "yolo11n": peer_run, "yolo26n": peer_run},
        "tiles": {}}
    result["targets"] = targets(result)
    assert ["than YOLO11n" in t["target"] for t in result["targets"]] == [True, False, False,
                                                                        False]
    assert "than YOLO26n" in result["targets"][2]["target"]
    assert [t["met"] for t in result["targets"]] == [False, True, True, True]
    table = markdown(result)
    assert "| YOLO26n ms | YOLO26n / Specks |" in table and "| 6.00 | 6.00x |" in table
    assert "- (ExportError: x)" in table and "YOLO26n (from yaml)" in table
