import pytest
import torch

from models.blocks.fcb import FCB
from models.blocks.shuffle import channel_shuffle


@pytest.mark.parametrize("dilation", [1, 2, 5])
def test_fcb_keeps_shape(dilation: int) -> None:
    x = torch.randn(2, 16, 9, 7)
    assert FCB(16, dilation)(x).shape == x.shape


def test_fcb_rejects_odd_channels() -> None:
    with pytest.raises(ValueError, match="halves"):
        FCB(15)


def test_fcb_with_zeroed_branch_is_the_shuffled_identity() -> None:
    block = FCB(16, dilation=2).eval()
    with torch.no_grad():
        block.pointwise.bn.weight.zero_()
        block.pointwise.bn.bias.zero_()
    x = torch.rand(2, 16, 6, 6)  # non-negative, as a previous block's ReLU output
    torch.testing.assert_close(block(x), channel_shuffle(x, 2))


def test_fcb_branch_changes_the_output() -> None:
    block = FCB(16).eval()
    x = torch.rand(2, 16, 6, 6)
    assert not torch.allclose(block(x), channel_shuffle(x, 2), atol=1e-3)


@pytest.mark.parametrize("dilation", [1, 2, 5])
def test_fcb_receptive_field_is_3x3_then_dilated_3x3(dilation: int) -> None:
    # Linear block (no activation): a centre output sees exactly the offsets a + d*b,
    # a, b in {-1, 0, 1}, per axis: the 1-D pairs give a full 3x3, the depthwise a dilated 3x3.
    block = FCB(8, dilation, act=None).eval()
    size = 2 * (1 + dilation) + 5
    c = size // 2
    x = torch.randn(1, 8, size, size, requires_grad=True)
    block(x)[0, :, c, c].sum().backward()
    seen = x.grad.abs().sum(dim=(0, 1)) > 0  # (H, W)
    offsets = {a + dilation * b for a in (-1, 0, 1) for b in (-1, 0, 1)}
    axis = torch.tensor([i - c in offsets for i in range(size)])
    assert torch.equal(seen, axis[:, None] & axis[None, :])
