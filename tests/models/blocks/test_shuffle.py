import pytest
import torch

from models.blocks.shuffle import ShuffleV2Unit, channel_shuffle


def _labelled(c: int) -> torch.Tensor:
    return torch.arange(c, dtype=torch.float32).reshape(1, c, 1, 1).expand(2, c, 3, 3)


@pytest.mark.parametrize(("c", "g"), [(12, 3), (12, 4), (8, 2), (6, 6)])
def test_channel_shuffle_is_the_interleaving_permutation(c: int, g: int) -> None:
    out = channel_shuffle(_labelled(c), g)[0, :, 0, 0].long()
    assert sorted(out.tolist()) == list(range(c))
    i = torch.arange(c)
    assert torch.equal(out, (i % g) * (c // g) + i // g)


@pytest.mark.parametrize(("c", "g"), [(12, 3), (12, 2), (16, 4)])
def test_channel_shuffle_inverse_restores_input(c: int, g: int) -> None:
    x = torch.randn(2, c, 4, 5)
    torch.testing.assert_close(channel_shuffle(channel_shuffle(x, g), c // g), x)
    assert not torch.equal(channel_shuffle(x, g), x)


def test_shuffle_v2_stride1_passes_half_the_channels_through() -> None:
    unit = ShuffleV2Unit(16, 16).eval()
    x = torch.randn(2, 16, 6, 6)
    y = unit(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y[:, 0::2], x[:, :8])  # the untouched half lands on even slots


def test_shuffle_v2_stride2_halves_resolution() -> None:
    unit = ShuffleV2Unit(16, 32, stride=2)
    assert unit(torch.randn(2, 16, 8, 8)).shape == (2, 32, 4, 4)


def test_shuffle_v2_rejects_width_change_at_stride1() -> None:
    with pytest.raises(ValueError):
        ShuffleV2Unit(16, 24)
