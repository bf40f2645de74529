from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from models.data.boxes import ImageRecord, write_image
from models.data.synth import SynthConfig, write_dataset
from models.data.tiles import TileAugment, TileDataset, collate_fn, hsv_jitter, jpeg_roundtrip
from models.data.yolo import read_yolo


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiles")
    cfg = SynthConfig(width=256, height=192, objects=(3, 6), background_prob=0.0)
    return read_yolo(write_dataset(root, cfg, images=3, seed=0, val_fraction=0.0)).records


def one_object(tmp_path, size=(200, 150), box=(100, 60, 112, 70)):
    image = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    write_image(tmp_path / "one.png", image)
    return image, ImageRecord(tmp_path / "one.png", size[0], size[1], [box], [2])


def test_output_types_and_boxes_inside_tile(records):
    ds = TileDataset(records, tile_size=96, object_prob=0.5, tiles_per_image=8)
    assert len(ds) == 24
    for i in range(len(ds)):
        image, target = ds[i]
        assert image.shape == (3, 96, 96) and image.dtype == torch.float32
        assert image.min() >= 0 and image.max() <= 1
        boxes, labels = target["boxes"], target["labels"]
        assert boxes.dtype == torch.float32 and labels.dtype == torch.int64
        assert boxes.shape == (len(labels), 4)
        assert (boxes >= 0).all() and (boxes <= 96).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()


def test_centred_object_is_an_exact_copy(tmp_path):
    image, record = one_object(tmp_path)
    x0, y0, x1, y1 = record.boxes[0].astype(int)
    ds = TileDataset([record], tile_size=64, object_prob=1.0, tiles_per_image=20,
                     augment=TileAugment.off())
    offsets = set()
    for i in range(len(ds)):
        tile, boxes, labels = ds.sample(i)
        assert len(boxes) == 1 and labels.tolist() == [2]
        bx0, by0, bx1, by1 = boxes[0].astype(int)
        assert (bx1 - bx0, by1 - by0) == (x1 - x0, y1 - y0)  # fully inside, not clipped
        np.testing.assert_array_equal(tile[by0:by1, bx0:bx1], image[y0:y1, x0:x1])
        offsets.add((bx0, by0))
    assert len(offsets) > 5  # random offset, not always centred the same way


def test_objects_survive_scale_jitter_and_flips(records):
    ds = TileDataset(records, tile_size=128, object_prob=1.0, tiles_per_image=10,
                     augment=TileAugment(hflip=0.5, vflip=0.5, scale=(0.5, 2.0)))
    for i in range(len(ds)):
        _, boxes, _ = ds.sample(i)
        assert len(boxes) >= 1
        record = records[i // 10]
        sizes = record.boxes[:, 2:] - record.boxes[:, :2]
        got = boxes[:, 2:] - boxes[:, :2]
        # at least one box is a whole object scaled by the zoom (aspect ratio kept)
        ratio = got[:, None] / sizes[None]  # (K_tile, K_image, 2)
        whole = (np.abs(ratio[..., 0] - ratio[..., 1]) < 0.02) & (ratio[..., 0] >= 0.5 - 1e-3)
        assert whole.any()


def test_small_image_is_padded(tmp_path):
    image, record = one_object(tmp_path, size=(40, 30), box=(10, 10, 20, 20))
    ds = TileDataset([record], tile_size=64, object_prob=1.0, augment=TileAugment.off(),
                     fill=114)
    tile, boxes, _ = ds.sample(0)
    assert tile.shape == (64, 64, 3)
    real = (tile != 114).any(-1)
    assert real.sum() <= 40 * 30 and (tile == 114).all(-1).sum() >= 64 * 64 - 40 * 30
    bx0, by0, _, _ = boxes[0].astype(int)
    np.testing.assert_array_equal(tile[by0 - 10:by0 + 20, bx0 - 10:bx0 + 30], image)


@pytest.mark.parametrize("sx, kept", [(15, True), (16, False), (0, True), (-1, False)])
def test_boxes_under_half_visible_are_dropped(tmp_path, sx, kept):
    _, record = one_object(tmp_path, box=(10, 40, 20, 50))
    ds = TileDataset([record], tile_size=15, min_visible=0.5)
    boxes, labels = ds._boxes(record, 1.0, sx, 35)
    assert (len(boxes) == 1) is kept and len(labels) == len(boxes)
    if kept:
        assert (boxes >= 0).all() and (boxes <= 15).all()


def test_deterministic_by_seed_and_epoch(records):
    a = TileDataset(records, tile_size=64, seed=1)
    b = TileDataset(records, tile_size=64, seed=1)
    np.testing.assert_array_equal(a.sample(2)[0], b.sample(2)[0])
    c = TileDataset(records, tile_size=64, seed=2)
    assert not np.array_equal(a.sample(2)[0], c.sample(2)[0])
    b.set_epoch(1)
    assert not np.array_equal(a.sample(2)[0], b.sample(2)[0])


def test_hflip_mirrors_tile_and_boxes(records):
    plain = TileDataset(records, tile_size=96, object_prob=1.0, augment=TileAugment.off())
    flip = TileDataset(records, tile_size=96, object_prob=1.0,
                       augment=TileAugment(hflip=1.0, vflip=0.0, scale=(1, 1), hsv=(0, 0, 0)))
    for i in range(3):
        tile, boxes, _ = plain.sample(i)
        ftile, fboxes, _ = flip.sample(i)
        np.testing.assert_array_equal(ftile, tile[:, ::-1])
        np.testing.assert_allclose(fboxes[:, [2, 0]], 96 - boxes[:, [0, 2]])


def test_hsv_jitter_changes_colour_only_when_asked():
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    rng = np.random.default_rng(0)
    assert hsv_jitter(rng, image, (0, 0, 0)) is image
    out = hsv_jitter(rng, image, (0.0, 0.0, 0.5))
    assert out.shape == image.shape and not np.array_equal(out, image)


def test_collate_and_dataloader(records):
    ds = TileDataset(records, tile_size=64, tiles_per_image=2)
    images, targets = next(iter(DataLoader(ds, batch_size=4, collate_fn=collate_fn)))
    assert images.shape == (4, 3, 64, 64) and len(targets) == 4
    assert all(set(t) == {"boxes", "labels"} for t in targets)


def test_jpeg_roundtrip_only_when_asked_and_stronger_at_low_quality():
    yy, xx = np.mgrid[:64, :64]
    image = np.stack([(xx * 4) % 256, (yy * 4) % 256, ((xx + yy) * 2) % 256], -1).astype(np.uint8)
    image[20:26, 30:36] = (255, 0, 0)  # a 6 px object
    rng = np.random.default_rng(0)
    assert jpeg_roundtrip(rng, image, 0.0, (30, 95)) is image
    assert rng.random() == np.random.default_rng(0).random()  # nothing was drawn
    errors = []
    for quality in (95, 20):
        out = jpeg_roundtrip(np.random.default_rng(0), image, 1.0, (quality, quality))
        assert out.shape == image.shape and out.dtype == np.uint8 and out.flags.c_contiguous
        errors.append(np.abs(out.astype(int) - image).mean())
    assert 0 < errors[0] < errors[1]
    # channel order survives the BGR codec: the red object stays red
    assert out[22, 32, 0] > 150 and out[22, 32, 1] < 100


def test_jpeg_keeps_boxes_and_rejects_bad_fields(records):
    plain = TileDataset(records, tile_size=96, object_prob=1.0, augment=TileAugment.off())
    lossy = TileDataset(records, tile_size=96, object_prob=1.0,
                        augment=replace(TileAugment.off(), jpeg=1.0, jpeg_quality=(40, 40)))
    tile, boxes, labels = plain.sample(0)
    jtile, jboxes, jlabels = lossy.sample(0)
    np.testing.assert_array_equal(jboxes, boxes)
    np.testing.assert_array_equal(jlabels, labels)
    assert not np.array_equal(jtile, tile)
    for bad in ({"jpeg": 1.5}, {"jpeg_quality": (90, 30)}, {"jpeg_quality": (0, 50)}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TileAugment(**bad)
