import json

import cv2
import numpy as np
import pytest

from models.data.coco import read_coco
from models.data.synth import (
    CLASSES,
    SynthConfig,
    background,
    read_clip,
    render_sprite,
    synth_clip,
    synth_image,
    write_clip,
    write_dataset,
)
from models.data.yolo import read_yolo

CFG = SynthConfig(width=256, height=192, objects=(4, 8), background_prob=0.0)


def test_deterministic_by_seed():
    a, b, c = synth_image(CFG, 3), synth_image(CFG, 3), synth_image(CFG, 4)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert not np.array_equal(a.image, c.image)
    assert a.image.shape == (192, 256, 3) and a.image.dtype == np.uint8


@pytest.mark.parametrize("lo, hi", [(4, 40), (10, 12), (6, 6)])
def test_object_sizes_within_range(lo, hi):
    cfg = SynthConfig(width=256, height=256, min_size=lo, max_size=hi, objects=(8, 8),
                      background_prob=0.0)
    sides = np.concatenate([
        (lambda b: np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]))(synth_image(cfg, s).boxes)
        for s in range(4)])
    assert len(sides) >= 16 and sides.min() >= lo and sides.max() <= hi


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("size", [4, 9, 40])
def test_sprite_is_tight(cls, size):
    alpha, premult = render_sprite(np.random.default_rng(size), cls, size)
    assert max(alpha.shape) == size and premult.shape == (*alpha.shape, 3)
    assert alpha.min() >= 0 and alpha.max() <= 1 + 1e-6
    for edge in (alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]):
        assert edge.max() > 0  # every border row and column holds object coverage


def test_object_pixels_stay_inside_boxes():
    cfg = SynthConfig(width=256, height=192, objects=(6, 6), distractors=(0, 0), noise=0.0,
                      background_prob=0.0, min_contrast=1.0)
    scene = synth_image(cfg, 11)
    bg = np.clip(background(np.random.default_rng(11), 192, 256), 0, 255).astype(np.uint8)
    changed = (scene.image != bg).any(-1)
    inside = np.zeros_like(changed)
    for x0, y0, x1, y1 in scene.boxes.astype(int):
        inside[y0:y1, x0:x1] = True
        assert changed[y0:y1, x0:x1].any()
    assert changed.any() and not (changed & ~inside).any()


def test_boxes_inside_image_and_not_overlapping():
    scene = synth_image(CFG, 5)
    b = scene.boxes
    assert (b[:, :2] >= 0).all() and (b[:, 2] <= 256).all() and (b[:, 3] <= 192).all()
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            assert (b[i, 2] <= b[j, 0] or b[j, 2] <= b[i, 0]
                    or b[i, 3] <= b[j, 1] or b[j, 3] <= b[i, 1])
    assert set(scene.labels.tolist()) <= set(range(len(CLASSES)))


def test_config_validation():
    with pytest.raises(ValueError, match="min_size"):
        SynthConfig(min_size=0)
    with pytest.raises(ValueError, match="too small"):
        SynthConfig(width=32, height=32)
    with pytest.raises(ValueError, match="unknown classes"):
        SynthConfig(classes=("cat",))


def test_yolo_round_trip_gives_exactly_the_generated_boxes(tmp_path):
    data = write_dataset(tmp_path, CFG, images=3, seed=7, val_fraction=0.34)
    train, val = read_yolo(data, "train"), read_yolo(data, "val")
    assert (len(train), len(val)) == (2, 1) and train.names == list(CLASSES)
    for i, record in enumerate(train.records + val.records):
        scene = synth_image(CFG, [7, i])
        np.testing.assert_allclose(record.boxes, scene.boxes, atol=1e-3)
        np.testing.assert_array_equal(np.round(record.boxes), scene.boxes)
        np.testing.assert_array_equal(record.labels, scene.labels)
        np.testing.assert_array_equal(cv2.imread(str(record.path))[..., ::-1], scene.image)


def test_coco_round_trip(tmp_path):
    json_path = write_dataset(tmp_path, CFG, images=2, seed=1, val_fraction=0.0, fmt="coco")
    ds = read_coco(json_path)
    assert len(ds) == 2 and ds.names == list(CLASSES)
    for i, record in enumerate(ds.records):
        np.testing.assert_allclose(record.boxes, synth_image(CFG, [1, i]).boxes)


def test_clip_motion_and_tracks():
    cfg = SynthConfig(width=128, height=96, max_size=20, objects=(3, 3))
    scenes = list(synth_clip(cfg, 40, seed=2))
    assert all(len(s.boxes) == 3 for s in scenes)
    assert all(s.track_ids.tolist() == [0, 1, 2] for s in scenes)
    sizes = {tuple((s.boxes[:, 2:] - s.boxes[:, :2]).ravel()) for s in scenes}
    assert len(sizes) == 1  # each track keeps its sprite
    boxes = np.stack([s.boxes for s in scenes])  # (F, K, 4)
    assert (boxes[..., :2] >= 0).all() and (boxes[..., 2] <= 128).all()
    assert (boxes[..., 3] <= 96).all()
    step = np.abs(np.diff(boxes[..., :2], axis=0)).max(-1)  # (F-1, K)
    assert (step.mean(0) > 0.1).all() and step.max() <= 8
    again = list(synth_clip(cfg, 3, seed=2))
    np.testing.assert_array_equal(again[2].image, scenes[2].image)


def test_write_clip_image_folder_round_trip(tmp_path):
    cfg = SynthConfig(width=96, height=64, max_size=16, objects=(2, 2))
    gt = write_clip(tmp_path, cfg, 4, seed=3, video=False)
    meta, records = read_clip(tmp_path)
    assert meta["names"] == list(CLASSES) and len(records) == 4 and gt.is_file()
    for record, scene in zip(records, synth_clip(cfg, 4, seed=3), strict=True):
        np.testing.assert_array_equal(record.boxes, scene.boxes)
        np.testing.assert_array_equal(record.track_ids, scene.track_ids)
        np.testing.assert_array_equal(cv2.imread(str(record.path))[..., ::-1], scene.image)


def test_write_clip_mp4(tmp_path):
    cfg = SynthConfig(width=96, height=64, max_size=16, objects=(1, 2))
    write_clip(tmp_path, cfg, 5, seed=0, fps=10)
    capture = cv2.VideoCapture(str(tmp_path / "clip.mp4"))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == 5
    lines = (tmp_path / "gt.jsonl").read_text().splitlines()
    assert [json.loads(x)["frame"] for x in lines] == list(range(5))
