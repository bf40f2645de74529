import numpy as np
import pytest
import torch

from firmware_py.tiling import TileGrid
from models.data.synth import SynthConfig, synth_image
from models.registry import create_model
from models.saliency import (
    SaliencyConfig,
    _train_step,
    box_mask,
    roc_auc,
    saliency_loss,
    tile_labels,
    tile_metrics,
    to_lores,
)

FRAME, LORES = (1080, 1920), (192, 320)


def test_every_object_lights_its_cells_and_nothing_else() -> None:
    scene = synth_image(SynthConfig(width=1920, height=1080, distractors=(20, 20),
                                    background_prob=0.0), [4, 0])
    assert len(scene.boxes)
    mask = box_mask(scene.boxes, FRAME, LORES, dilate=1)
    sx, sy = LORES[1] / FRAME[1], LORES[0] / FRAME[0]
    lit = np.zeros(LORES, bool)
    for x0, y0, x1, y1 in scene.boxes:
        cx, cy = int((x0 + x1) / 2 * sx), int((y0 + y1) / 2 * sy)
        assert mask[cy, cx] == 1  # the object's own cell
        lit[max(0, int(y0 * sy) - 2):int(np.ceil(y1 * sy)) + 2,
            max(0, int(x0 * sx) - 2):int(np.ceil(x1 * sx)) + 2] = True
    assert not mask[~lit].any()  # distractors and background stay 0


def test_a_sub_cell_object_still_lights_one_cell() -> None:
    mask = box_mask(np.array([[961.0, 541.0, 963.0, 543.0]]), FRAME, LORES, dilate=0)
    assert mask.sum() >= 1 and mask[int(542 * 192 / 1080), int(962 * 320 / 1920)] == 1


def test_dilation_grows_the_mask() -> None:
    box = np.array([[600.0, 300.0, 640.0, 330.0]])
    assert box_mask(box, FRAME, LORES, 2).sum() > box_mask(box, FRAME, LORES, 0).sum()


def test_empty_boxes_give_an_empty_mask() -> None:
    assert box_mask(np.zeros((0, 4)), FRAME, LORES).sum() == 0


def test_lores_resize_has_the_input_shape() -> None:
    assert to_lores(np.zeros((1080, 1920, 3), np.uint8), LORES).shape == (192, 320, 3)


def test_a_few_steps_reduce_the_loss_on_a_tiny_batch() -> None:
    torch.manual_seed(0)
    cfg = SaliencyConfig(lr=1e-2, pos_weight=5.0)
    model = create_model("csnet-prior", basewidth=4)
    images = torch.rand(2, 3, 32, 32)
    target = torch.zeros(2, 1, 32, 32)
    target[:, :, 10:14, 20:24] = 1
    images[:, :, 10:14, 20:24] = 1.0
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    first = _train_step(model, optimizer, (images, target), cfg)
    for _ in range(20):
        last = _train_step(model, optimizer, (images, target), cfg)
    assert last < 0.8 * first


def test_pos_weight_raises_the_cost_of_missing_objects() -> None:
    logits, target = torch.full((1, 1, 4, 4), -3.0), torch.zeros(1, 1, 4, 4)
    target[0, 0, 0, 0] = 1
    assert saliency_loss(logits, target, 10.0, 0.0) > saliency_loss(logits, target, 1.0, 0.0)


def test_roc_auc_matches_pairwise_counting() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 40).astype(float)  # many ties
    labels = rng.random(40) < 0.4
    pos, neg = scores[labels], scores[~labels]
    pairs = (pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean()
    assert roc_auc(scores, labels) == pytest.approx(pairs)
    assert roc_auc(np.array([0.9, 0.1]), np.array([1, 0])) == 1.0
    assert np.isnan(roc_auc(np.array([0.3]), np.array([1])))


def test_tile_labels_separate_holding_empty_and_cut_tiles() -> None:
    grid = TileGrid(1920, 1080, 320, 320, 0.2)  # stride 256
    labels = tile_labels(grid, np.array([[100.0, 100.0, 110.0, 110.0]]))
    assert labels[0] == 1 and (labels[1:] == 0).all()
    both = tile_labels(grid, np.array([[260.0, 100.0, 280.0, 110.0]]))  # in the overlap
    assert both[0] == 1 and both[1] == 1
    cut = tile_labels(grid, np.array([[310.0, 100.0, 330.0, 110.0]]))  # over tile 0's right side
    assert cut[0] == -1 and cut[1] == 1


def test_tile_metrics_on_a_constructed_map() -> None:
    grid = TileGrid(1920, 1080, 320, 320, 0.2)
    box = np.array([[1500.0, 800.0, 1506.0, 806.0]])
    perfect = np.zeros((180, 320), np.float32)
    perfect[int(803 / 6), int(1503 / 6)] = 0.9  # the object's lores cell
    from firmware_py.sparse.prior import pool_map

    good = tile_metrics([pool_map(perfect, grid)], [box], grid, budget=4)
    assert good.auc == 1.0 and good.recall == 1.0 and good.precision == 1.0
    assert good.object_recall_at_budget == 1.0
    inverted = tile_metrics([1 - pool_map(perfect, grid)], [box], grid, budget=4)
    assert inverted.auc == 0.0 and inverted.recall == 0.0
    assert inverted.object_recall_at_budget == 0.0
