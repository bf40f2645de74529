"""bench/int8_islands.py: the candidates it tries and its parity measure (fake-quant)."""

from __future__ import annotations

import torch

from bench.int8_islands import candidates, parity
from models.registry import create_model


def _pico() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("specknet-pico", num_classes=2).eval()


def test_candidates_are_every_part_and_each_blocks_expand_depthwise_pair() -> None:
    model = _pico()
    found = candidates(model)
    assert ("blocks.0.expand", "blocks.0.dw") in found and ("head",) in found
    assert {c[0] for c in found if len(c) == 1} >= {"stem", "head"} | {
        f"blocks.{i}" for i in range(len(model.blocks))}


def test_parity_measures_a_quantized_graph_one_cosine_per_output() -> None:
    model = _pico()
    batches = [torch.rand(1, 3, 64, 64) for _ in range(4)]
    cosines = parity(model, ("head.heatmap",), batches, batches)
    assert len(cosines) == 3 and all(-1.0 <= c <= 1.0 for c in cosines)
    assert min(cosines) < 0.9999  # int8 did change the regression outputs
