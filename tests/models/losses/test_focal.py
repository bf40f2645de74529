"""CenterNet focal loss (Eq. 1 of arXiv 1904.07850) on logits."""

import torch

from models.losses.focal import centernet_focal_loss


def _eq1(p: torch.Tensor, y: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
         ) -> torch.Tensor:
    """Eq. 1 written directly on probabilities."""
    pos = y == 1
    terms = torch.where(pos, (1 - p) ** alpha * torch.log(p),
                        (1 - y) ** beta * p ** alpha * torch.log(1 - p))
    return -terms.sum() / pos.sum().clamp(min=1)


def _target() -> torch.Tensor:
    y = torch.rand(2, 3, 8, 8) * 0.9
    y[0, 1, 2, 3] = y[1, 0, 5, 5] = y[1, 2, 0, 7] = 1.0
    return y


def test_matches_equation_1() -> None:
    logits, y = torch.randn(2, 3, 8, 8, dtype=torch.float64) * 3, _target().double()
    torch.testing.assert_close(centernet_focal_loss(logits, y).double(),
                               _eq1(logits.sigmoid(), y), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(centernet_focal_loss(logits, y, alpha=1.0, beta=2.0).double(),
                               _eq1(logits.sigmoid(), y, 1.0, 2.0), rtol=1e-5, atol=1e-6)


def test_finite_for_saturated_logits() -> None:
    y = _target()
    logits = torch.where(y == 1, torch.tensor(-200.0), torch.tensor(200.0)).requires_grad_()
    loss = centernet_focal_loss(logits, y)
    loss.backward()
    assert torch.isfinite(loss) and float(loss.detach()) > 100
    assert torch.isfinite(logits.grad).all()


def test_near_zero_for_a_confident_correct_prediction() -> None:
    y = _target()
    logits = torch.where(y == 1, torch.tensor(12.0), torch.tensor(-12.0))
    assert float(centernet_focal_loss(logits, y)) < 1e-4


def test_negatives_near_a_centre_are_penalised_less() -> None:
    logits = torch.zeros(1, 1, 1, 3)
    near = centernet_focal_loss(logits, torch.tensor([[[[1.0, 0.8, 0.0]]]]))
    far = centernet_focal_loss(logits, torch.tensor([[[[1.0, 0.0, 0.0]]]]))
    assert float(near) < float(far)


def test_normalised_by_the_number_of_keypoints() -> None:
    logits, y = torch.randn(1, 3, 8, 8), _target()[:1]
    twice = centernet_focal_loss(torch.cat([logits, logits]), torch.cat([y, y]))
    torch.testing.assert_close(twice, centernet_focal_loss(logits, y))


def test_without_keypoints_only_negatives_count() -> None:
    logits, y = torch.randn(1, 2, 4, 4), torch.rand(1, 2, 4, 4) * 0.5
    expected = -((1 - y) ** 4 * logits.sigmoid() ** 2 * torch.log1p(-logits.sigmoid())).sum()
    torch.testing.assert_close(centernet_focal_loss(logits, y), expected)
