"""CenterNet target encoding and the full loss (Sec. 3 of arXiv 1904.07850)."""

import math

import pytest
import torch

from models.losses.centernet import CenterNetLoss, encode_targets, gaussian_radius


def _encode(boxes: list[list[float]], labels: list[int], classes: int = 2, grid: int = 16,
            **kwargs):
    return encode_targets([torch.tensor(boxes).reshape(-1, 4)], [torch.tensor(labels)],
                          classes, (grid, grid), 4, **kwargs)


def test_radius_rule_values() -> None:
    # 10 x 10 cells: the third case, (-28 + sqrt(28^2 + 4 * 2.8 * 30)) / 2
    r = gaussian_radius(torch.tensor([10.0]), torch.tensor([10.0]))
    assert float(r) == pytest.approx((-28 + math.sqrt(784 + 336)) / 2)
    sides = torch.arange(1.0, 30.0)
    assert (gaussian_radius(sides, sides).diff() > 0).all()


def test_single_box_targets() -> None:
    t = _encode([[10, 14, 20, 22]], [1])  # centre (15, 18) px = (3.75, 4.5) cells
    assert t.heatmap[0, 1, 4, 3] == 1.0 and int((t.heatmap == 1).sum()) == 1
    assert float(t.heatmap[0, 0].abs().sum()) == 0.0  # other class untouched
    torch.testing.assert_close(t.size[0, :, 4, 3], torch.tensor([10.0, 8.0]))
    torch.testing.assert_close(t.offset[0, :, 4, 3], torch.tensor([0.75, 0.5]))
    assert t.mask[0, 0, 4, 3] == 1 and float(t.mask.sum()) == 1
    assert float(t.size.abs().sum()) == 18.0  # nothing outside the object cell
    strides = _encode([[10, 14, 20, 22]], [1], size_unit="stride")
    torch.testing.assert_close(strides.size[0, :, 4, 3], torch.tensor([2.5, 2.0]))


def test_tiny_box_gets_radius_one() -> None:
    heat = _encode([[30, 30, 36, 36]], [0]).heatmap[0, 0]  # 6 px, centre cell (8, 8)
    assert float(heat[8, 9]) == pytest.approx(math.exp(-2))  # sigma 0.5
    assert float(heat[9, 9]) == pytest.approx(math.exp(-4))
    assert float(heat[8, 10]) == 0.0 and int((heat > 0).sum()) == 9
    single = _encode([[30, 30, 36, 36]], [0], min_radius=0).heatmap[0, 0]
    assert int((single > 0).sum()) == 1


def test_large_box_gets_the_rule_radius() -> None:
    heat = _encode([[12, 12, 52, 52]], [0]).heatmap[0, 0]  # 10 cells: radius 2
    assert float(heat[8, 10]) > 0 and float(heat[8, 11]) == 0
    assert int((heat > 0).sum()) == 25


def test_same_class_gaussians_take_the_maximum() -> None:
    boxes = [[20, 20, 44, 44], [28, 20, 52, 44]]  # centres two cells apart
    both = _encode(boxes, [0, 0]).heatmap[0, 0]
    first, second = (_encode([b], [0]).heatmap[0, 0] for b in boxes)
    torch.testing.assert_close(both, torch.maximum(first, second))
    assert int((both == 1).sum()) == 2


def test_one_cell_two_objects_the_smaller_regresses() -> None:
    t = _encode([[0, 0, 32, 32], [14, 14, 18, 18]], [0, 1])  # both centres in cell (4, 4)
    torch.testing.assert_close(t.size[0, :, 4, 4], torch.tensor([4.0, 4.0]))
    assert float(t.mask.sum()) == 1
    assert t.heatmap[0, 0, 4, 4] == 1 and t.heatmap[0, 1, 4, 4] == 1


def test_degenerate_boxes_are_ignored_and_bad_labels_raise() -> None:
    t = _encode([[5, 5, 5, 9], [1, 1, 3, 1]], [0, 1])
    assert float(t.heatmap.sum()) == 0 and float(t.mask.sum()) == 0
    with pytest.raises(ValueError, match="labels"):
        _encode([[1, 1, 5, 5]], [2])


def _outputs(classes: int = 2, grid: int = 16) -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, classes, grid, grid, requires_grad=True),
            torch.randn(2, 2, grid, grid, requires_grad=True),
            torch.rand(2, 2, grid, grid, requires_grad=True))


TARGETS = [{"boxes": torch.tensor([[10.0, 14, 20, 22], [40, 40, 47, 46]]),
            "labels": torch.tensor([1, 0])},
           {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]


def test_loss_weights_and_normalisation() -> None:
    heat, size, offset = _outputs()
    loss, parts = CenterNetLoss(2)((heat, size, offset), TARGETS, image_size=(64, 64))
    torch.testing.assert_close(loss, parts["heatmap"] + 0.1 * parts["size"] + parts["offset"])
    t = encode_targets([d["boxes"] for d in TARGETS], [d["labels"] for d in TARGETS], 2,
                       (16, 16))
    per_object = ((size - t.size).abs() * t.mask).sum() / 2  # 2 objects
    torch.testing.assert_close(parts["size"], per_object.detach())


def test_regression_gradients_only_at_object_cells() -> None:
    heat, size, offset = _outputs()
    loss, _ = CenterNetLoss(2)((heat, size, offset), TARGETS)
    loss.backward()
    mask = encode_targets([d["boxes"] for d in TARGETS], [d["labels"] for d in TARGETS], 2,
                          (16, 16)).mask
    assert float((size.grad * (1 - mask)).abs().sum()) == 0
    assert float((offset.grad * mask).abs().sum()) > 0
    assert float(heat.grad.abs().sum()) > 0


def test_perfect_prediction_costs_almost_nothing() -> None:
    t = encode_targets([d["boxes"] for d in TARGETS], [d["labels"] for d in TARGETS], 2,
                       (16, 16))
    logits = torch.where(t.heatmap == 1, torch.tensor(12.0), torch.tensor(-12.0))
    loss, parts = CenterNetLoss(2)((logits, t.size, t.offset), TARGETS)
    assert float(loss) < 1e-3 and float(parts["size"]) == 0 and float(parts["offset"]) == 0


def test_rejects_a_mismatched_head() -> None:
    with pytest.raises(ValueError, match="stride 4"):
        CenterNetLoss(2)(_outputs(), TARGETS, image_size=(128, 128))
    with pytest.raises(ValueError, match="channels"):
        CenterNetLoss(3)(_outputs(), TARGETS)
