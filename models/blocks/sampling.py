"""Stochastic feature sampling (Xie et al., "Spatially Adaptive Inference with Stochastic
Feature Sampling and Interpolation", ECCV 2020, arXiv 2003.08866, Sec. 3.1-3.3).

- ``SamplingModule``: a 3x3 conv on the block input predicts a per-position sampling
  probability ``p`` (weight 0, bias 3 at init, so p = sigmoid(3) ~ 0.95 everywhere). Training
  draws a relaxed mask with ``gumbel_sigmoid``; inference thresholds ``p`` at 0.5.
- ``gumbel_sigmoid``: softmax over ``[log p + g1, log(1 - p) + g2] / T``, channel 0 kept,
  ``g1, g2 ~ Gumbel(0, 1)``; its hard version is 1 with probability exactly ``p``.
- ``TemperatureSchedule``: ``T = T0 * decay**iteration`` (T0 = 1, decay 0.99998 per training
  iteration, ~0.03 after 175k iterations), written into every ``SamplingModule`` of a model by
  ``step()``, like an LR scheduler.
- ``grid_prior`` / ``apply_grid_prior``: the mask is forced to 1 on a regular lattice
  (rows and columns ``0, g, 2g, ...``; g = 11 in the authors' code), so every region keeps
  some sampled positions to interpolate from.
- ``block_sparsity`` / ``sparsity_loss``: per block ``0.25 * mean(p1) + 0.75 * mean(p2)``
  (soft probabilities of the two masks of a bottleneck), summed over blocks, times a weight.

Choices where the paper is silent or the authors' code differs:
- The grid prior marks lattice *points* (``mask[..., ::g, ::g] = 1``, as the authors' code
  does), not whole rows and columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import nn

_LOG_EPS = 1e-8  # the authors' guard inside every log


class SampleMasks(NamedTuple):
    mask: torch.Tensor  # (N, 1, H, W): relaxed in training, binary {0, 1} in eval
    prob: torch.Tensor  # (N, 1, H, W): sigmoid of the sampling logits (for the sparsity loss)


def gumbel_sigmoid(prob: torch.Tensor, temperature: float | torch.Tensor) -> torch.Tensor:
    """Relaxed Bernoulli(prob) sample: softmax([log p + g1, log(1-p) + g2] / T)[0]."""
    u = torch.rand((2, *prob.shape), device=prob.device, dtype=prob.dtype)
    gumbel = -torch.log(-torch.log(u + _LOG_EPS) + _LOG_EPS)  # (2, *prob.shape)
    logits = torch.stack([torch.log(prob + _LOG_EPS), torch.log(1 - prob + _LOG_EPS)]) + gumbel
    return torch.softmax(logits / temperature, dim=0)[0]


def grid_prior(height: int, width: int, interval: int,
               device: torch.device | None = None) -> torch.Tensor:
    """(H, W) bool lattice: True where row % interval == 0 and column % interval == 0."""
    rows = torch.arange(height, device=device) % interval == 0
    cols = torch.arange(width, device=device) % interval == 0
    return rows[:, None] & cols[None, :]


def apply_grid_prior(mask: torch.Tensor, interval: int) -> torch.Tensor:
    """Force ``mask`` (N, 1, H, W) to 1 on the grid-prior lattice (out of place)."""
    lattice = grid_prior(mask.shape[-2], mask.shape[-1], interval, mask.device)
    return mask.masked_fill(lattice, 1.0)


class SamplingModule(nn.Module):
    """Predict where a conv output is computed: returns ``SampleMasks(mask, prob)``.

    ``stride`` matches the stride of the conv whose output the mask selects, so the mask has
    that conv's output size. ``grid_interval=None`` turns the grid prior off.
    """

    def __init__(self, in_ch: int, stride: int = 1, kernel_size: int = 3,
                 grid_interval: int | None = 11, init_bias: float = 3.0) -> None:
        super().__init__()
        self.grid_interval = grid_interval
        self.conv = nn.Conv2d(in_ch, 1, kernel_size, stride, kernel_size // 2)
        nn.init.zeros_(self.conv.weight)
        nn.init.constant_(self.conv.bias, init_bias)
        self.register_buffer("temperature", torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> SampleMasks:
        prob = torch.sigmoid(self.conv(x))  # (N, 1, H', W')
        if self.training:
            mask = gumbel_sigmoid(prob, self.temperature)
        else:
            # NOTE: the authors still add Gumbel noise at T = 0.03 before thresholding at
            # test time; thresholding p itself makes inference deterministic.
            mask = (prob >= 0.5).to(prob.dtype)
        if self.grid_interval:
            mask = apply_grid_prior(mask, self.grid_interval)
        return SampleMasks(mask, prob)


class TemperatureSchedule:
    """Geometric Gumbel temperature decay; call ``step()`` once per training iteration."""

    def __init__(self, model: nn.Module, t0: float = 1.0, decay: float = 0.99998) -> None:
        self.samplers = [m for m in model.modules() if isinstance(m, SamplingModule)]
        self.t0 = t0
        self.decay = decay
        self.last_iter = 0
        self._apply()

    @property
    def temperature(self) -> float:
        return self.t0 * self.decay**self.last_iter

    def step(self) -> None:
        self.last_iter += 1
        self._apply()

    def state_dict(self) -> dict[str, float | int]:
        return {"t0": self.t0, "decay": self.decay, "last_iter": self.last_iter}

    def load_state_dict(self, state: dict[str, float | int]) -> None:
        self.t0, self.decay = float(state["t0"]), float(state["decay"])
        self.last_iter = int(state["last_iter"])
        self._apply()

    def _apply(self) -> None:
        for sampler in self.samplers:
            sampler.temperature.fill_(self.temperature)


def block_sparsity(prob1: torch.Tensor, prob2: torch.Tensor) -> torch.Tensor:
    """One bottleneck's term: 0.25 * mean(p1) + 0.75 * mean(p2) (weighted like its FLOPs)."""
    return 0.25 * prob1.mean() + 0.75 * prob2.mean()


def sparsity_loss(terms: Iterable[torch.Tensor], weight: float) -> torch.Tensor:
    """``weight * sum(terms)`` over blocks.

    The authors' code divides ``weight`` by the number of blocks (so their 0.02 .. 0.2 weigh
    the *mean* term); pass ``weight / num_blocks`` to reproduce their settings.
    """
    return weight * torch.stack(list(terms)).sum()
