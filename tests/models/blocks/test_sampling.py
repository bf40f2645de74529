import math

import pytest
import torch

from models.blocks.sampling import (
    SamplingModule,
    TemperatureSchedule,
    apply_grid_prior,
    block_sparsity,
    grid_prior,
    gumbel_sigmoid,
    sparsity_loss,
)


def test_gumbel_sigmoid_is_channel_zero_of_the_tempered_softmax() -> None:
    p = torch.rand(2, 1, 5, 6).clamp(0.05, 0.95)
    t = 0.7
    torch.manual_seed(3)
    out = gumbel_sigmoid(p, t)
    torch.manual_seed(3)
    u = torch.rand(2, *p.shape)
    g = -torch.log(-torch.log(u))
    a, b = torch.log(p) + g[0], torch.log(1 - p) + g[1]
    torch.testing.assert_close(out, torch.exp(a / t) / (torch.exp(a / t) + torch.exp(b / t)),
                               atol=1e-5, rtol=1e-5)


def test_hard_gumbel_sigmoid_fires_with_probability_p() -> None:
    p = torch.tensor([0.1, 0.5, 0.9])[:, None].expand(3, 20000)
    fired = (gumbel_sigmoid(p, 0.01) > 0.5).float().mean(dim=1)
    torch.testing.assert_close(fired, torch.tensor([0.1, 0.5, 0.9]), atol=0.015, rtol=0)


def test_temperature_controls_how_binary_the_relaxed_mask_is() -> None:
    p = torch.full((4000,), 0.7)
    cold, hot = gumbel_sigmoid(p, 0.01), gumbel_sigmoid(p, 100.0)
    assert ((cold < 0.01) | (cold > 0.99)).float().mean() > 0.95
    assert (hot - 0.5).abs().max() < 0.05


def test_sampling_module_starts_at_p_095_and_keeps_everything_at_inference() -> None:
    sampler = SamplingModule(8, grid_interval=None).eval()
    mask, prob = sampler(torch.randn(2, 8, 9, 10))
    torch.testing.assert_close(prob, torch.full((2, 1, 9, 10), 1 / (1 + math.exp(-3))))
    assert torch.equal(mask, torch.ones_like(mask))


def test_inference_mask_is_the_deterministic_threshold_of_p() -> None:
    sampler = SamplingModule(4, grid_interval=None).eval()
    torch.nn.init.normal_(sampler.conv.weight)
    torch.nn.init.zeros_(sampler.conv.bias)
    x = torch.randn(1, 4, 12, 12)
    mask, prob = sampler(x)
    assert torch.equal(mask, (prob >= 0.5).float())
    assert 0 < mask.mean() < 1
    assert torch.equal(sampler(x).mask, mask)


def test_training_mask_is_relaxed_and_differentiable() -> None:
    sampler = SamplingModule(4, grid_interval=None).train()
    torch.nn.init.normal_(sampler.conv.weight, std=0.1)
    mask, _ = sampler(torch.randn(2, 4, 8, 8))
    assert ((mask > 0.01) & (mask < 0.99)).any()
    mask.sum().backward()
    assert sampler.conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("interval", [11, 4])
@pytest.mark.parametrize("training", [False, True])
def test_grid_prior_positions_are_always_sampled(interval: int, training: bool) -> None:
    sampler = SamplingModule(3, grid_interval=interval, init_bias=-30.0).train(training)
    mask, _ = sampler(torch.randn(2, 3, 25, 30))
    lattice = grid_prior(25, 30, interval)
    assert torch.equal(mask[:, 0] > 0.5, lattice.expand(2, -1, -1))
    assert torch.all(mask[:, 0][:, lattice] == 1)


def test_grid_prior_lattice_and_stride() -> None:
    lattice = grid_prior(12, 23, 11)
    assert lattice.nonzero().tolist() == [[0, 0], [0, 11], [0, 22], [11, 0], [11, 11], [11, 22]]
    assert torch.equal(apply_grid_prior(torch.zeros(1, 1, 12, 23), 11)[0, 0], lattice.float())
    mask, _ = SamplingModule(3, stride=2)(torch.randn(1, 3, 16, 15))
    assert mask.shape == (1, 1, 8, 8)


def test_temperature_schedule_decays_geometrically_into_every_sampler() -> None:
    model = torch.nn.ModuleList([SamplingModule(2), SamplingModule(2, stride=2)])
    schedule = TemperatureSchedule(model, t0=1.0, decay=0.9)
    for _ in range(3):
        schedule.step()
    assert schedule.temperature == pytest.approx(0.9**3)
    for sampler in model:
        assert sampler.temperature.item() == pytest.approx(0.9**3)
    resumed = TemperatureSchedule(model)
    resumed.load_state_dict(schedule.state_dict())
    assert resumed.temperature == pytest.approx(0.729)
    assert TemperatureSchedule(model).temperature == 1.0
    assert model[0].temperature.item() == 1.0


def test_default_schedule_reaches_about_003_after_175k_iterations() -> None:
    schedule = TemperatureSchedule(torch.nn.Module())
    schedule.last_iter = 175_000
    assert schedule.temperature == pytest.approx(0.03, rel=0.02)


def test_sparsity_loss_weights_the_two_masks_and_sums_blocks() -> None:
    p1, p2 = torch.full((1, 1, 4, 4), 0.2), torch.full((1, 1, 2, 2), 0.6)
    term = block_sparsity(p1, p2)
    assert term.item() == pytest.approx(0.25 * 0.2 + 0.75 * 0.6)
    assert sparsity_loss([term, term], 0.1).item() == pytest.approx(0.1 * 2 * term.item())
