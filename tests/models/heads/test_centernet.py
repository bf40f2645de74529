"""CenterNet head: output order and shapes, logits vs probabilities, prior init, export."""

import math

import pytest
import torch

from models.blocks.config import exportable
from models.heads.centernet import CenterNetHead


def test_outputs_in_manifest_order() -> None:
    head = CenterNetHead(16, num_classes=5, head_channels=8)
    heat, size, offset = head(torch.randn(2, 16, 10, 12))
    assert heat.shape == (2, 5, 10, 12)
    assert size.shape == offset.shape == (2, 2, 10, 12)


def test_training_emits_logits_eval_emits_probabilities() -> None:
    head = CenterNetHead(16, num_classes=3).eval()
    x = torch.randn(1, 16, 8, 8)
    heat = head(x)[0]
    torch.testing.assert_close(heat, head.heatmap(x).sigmoid())
    head.train()
    with torch.no_grad():
        logits = head(x)[0]
    assert float(logits.max()) < 0  # around the -2.19 prior, not in (0, 1)


def test_heatmap_starts_at_the_prior() -> None:
    head = CenterNetHead(16, num_classes=4)
    assert float(head.heatmap.pred.bias.detach()[0]) == pytest.approx(-math.log(9))
    with torch.no_grad():
        heat, size, offset = head(torch.randn(4, 16, 8, 8))
    assert float(heat.sigmoid().mean()) == pytest.approx(0.1, abs=0.01)
    assert float(size.abs().max()) < 0.5 and float(offset.abs().max()) < 0.5


def test_backward_reaches_every_branch() -> None:
    head = CenterNetHead(8, num_classes=2)
    sum(o.sum() for o in head(torch.randn(2, 8, 6, 6))).backward()
    for name in ("heatmap", "size", "offset"):
        assert float(getattr(head, name).dw.conv.weight.grad.abs().sum()) > 0


def test_exportable_and_export_parity() -> None:
    with exportable():
        head = CenterNetHead(8, num_classes=2, act="silu").eval()
    assert isinstance(head.size.pw.act, torch.nn.Hardswish)
    x = torch.randn(1, 8, 8, 8)
    program = torch.export.export(head, (x,))
    for got, want in zip(program.module()(x), head(x), strict=True):
        torch.testing.assert_close(got, want)
