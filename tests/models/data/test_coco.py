import copy
import json
from pathlib import Path

import numpy as np
import pytest
from faster_coco_eval import COCO, COCOeval_faster

from models.data.boxes import DatasetError, ImageRecord, write_image
from models.data.coco import image_id_map, read_coco, to_coco

NAMES = ["drone", "bird"]


def records(root):
    return [ImageRecord(root / "a.png", 64, 48, [[1, 2, 11, 12], [30.5, 20, 40, 47]], [0, 1]),
            ImageRecord(root / "b.png", 32, 32),
            ImageRecord(root / "c.png", 32, 32, [[0, 0, 32, 32]], [1])]


def write_images(recs):
    for r in recs:
        write_image(r.path, np.zeros((r.height, r.width, 3), np.uint8))


def test_round_trip_through_file(tmp_path):
    recs = records(tmp_path)
    write_images(recs)
    (tmp_path / "gt.json").write_text(json.dumps(to_coco(recs, NAMES, tmp_path)))
    ds = read_coco(tmp_path / "gt.json")
    assert ds.names == NAMES and not ds.report
    for got, want in zip(ds.records, recs, strict=True):
        assert got.path == want.path and (got.width, got.height) == (want.width, want.height)
        np.testing.assert_allclose(got.boxes, want.boxes)
        np.testing.assert_array_equal(got.labels, want.labels)


def test_category_ids_are_ranked():
    coco = to_coco(records(Path("/r")), NAMES)
    for ann in coco["annotations"]:
        ann["category_id"] = {1: 70, 2: 9}[ann["category_id"]]
    coco["categories"] = [{"id": 70, "name": "drone"}, {"id": 9, "name": "bird"}]
    ds = read_coco(coco, verify_images=False)
    assert ds.names == ["bird", "drone"]
    np.testing.assert_array_equal(ds.records[0].labels, [1, 0])


def _ap(gt: dict, dt: list) -> float:
    coco_gt = COCO(gt)
    evaluator = COCOeval_faster(coco_gt, coco_gt.loadRes(dt), "bbox", print_function=lambda *a: 0)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return float(evaluator.stats[0])


def test_feeds_faster_coco_eval(tmp_path):
    gt_recs = records(tmp_path)
    gt = to_coco(gt_recs, NAMES, tmp_path)
    ids = image_id_map(gt, tmp_path)
    preds = [ImageRecord(r.path, r.width, r.height, r.boxes, r.labels,
                         scores=np.full(len(r.boxes), 0.9)) for r in reversed(gt_recs)]
    dt = to_coco(preds, NAMES, tmp_path, image_ids=ids)["annotations"]
    assert all("score" in d for d in dt)
    assert _ap(gt, dt) == pytest.approx(1.0)
    shifted = copy.deepcopy(dt)
    for d in shifted:
        d["bbox"][0] += d["bbox"][2] * 0.6
    assert _ap(gt, shifted) < 0.5


def _base():
    return {"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]},
                            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [5, 6, 7, 8]}],
            "categories": [{"id": 1, "name": "drone"}, {"id": 2, "name": "bird"}]}


@pytest.mark.parametrize("change, reason", [
    ({"category_id": 5}, "unknown category_id 5"),
    ({"bbox": [1, "x", 3, 4]}, "numeric bbox"),
    ({"bbox": [1, 2, 3]}, "4 finite numbers"),
    ({"bbox": [1, 2, 0, 4]}, "zero-size"),
    ({"bbox": [60, 2, 10, 4]}, "outside"),
    ({"image_id": 9}, "image_id 9"),
])
def test_bad_annotation_names_file_and_location(tmp_path, change, reason):
    data = _base()
    data["annotations"][1].update(change)
    (tmp_path / "gt.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=reason) as info:
        read_coco(tmp_path / "gt.json", verify_images=False)
    assert f"{tmp_path / 'gt.json'}:annotations[1]:" in str(info.value)
    ds = read_coco(tmp_path / "gt.json", strict=False, verify_images=False)
    assert len(ds.records[0].boxes) == 1 and len(ds.report) == 1


def test_missing_corrupt_and_mis_sized_images(tmp_path):
    data = _base()
    data["images"] += [{"id": 2, "file_name": "b.png", "width": 8, "height": 8},
                       {"id": 3, "file_name": "c.png", "width": 9, "height": 8}]
    write_image(tmp_path / "a.png", np.zeros((48, 64, 3), np.uint8))
    write_image(tmp_path / "c.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DatasetError, match="not found") as info:
        read_coco(data, image_dir=tmp_path)
    assert "<dict>:images[1]" in str(info.value) and "b.png" in str(info.value)
    ds = read_coco(data, image_dir=tmp_path, strict=False)
    assert [r.path.name for r in ds.records] == ["a.png"]
    assert "not found" in str(ds.report.drops[0]) and "says 9x8" in str(ds.report.drops[1])
    (tmp_path / "b.png").write_bytes(b"junk")
    ds = read_coco(data, image_dir=tmp_path, strict=False)
    assert "corrupt" in str(ds.report.drops[0])


def test_crowd_left_out_and_bad_json(tmp_path):
    data = _base()
    data["annotations"][0]["iscrowd"] = 1
    assert read_coco(data, verify_images=False).records[0].labels.tolist() == [1]
    (tmp_path / "bad.json").write_text('{"images": [\n,]}')
    with pytest.raises(DatasetError, match="bad JSON") as info:
        read_coco(tmp_path / "bad.json")
    assert f"{tmp_path / 'bad.json'}:2:" in str(info.value)
    with pytest.raises(DatasetError, match="categories"):
        read_coco({"images": [], "annotations": []})
