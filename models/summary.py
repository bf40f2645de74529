"""Parameter and FLOP counts of a network (FLOPs from ``torch.utils.flop_counter``)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    """Learnable parameters (buffers such as BN running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_gflops(model: nn.Module, input_size: tuple[int, int, int]) -> float:
    """GFLOPs of one eval-mode forward at batch 1 (a multiply-add counts as 2 FLOPs, as
    ``FlopCounterMode`` does)."""
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(1, *input_size))
    model.train(was_training)
    return counter.get_total_flops() / 1e9
