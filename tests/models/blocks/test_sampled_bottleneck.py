import pytest
import torch
from torch import nn

from models.blocks.sampled_bottleneck import SampledBottleneck, collect_sparsity
from models.blocks.sampling import sparsity_loss


def _randomise(block: SampledBottleneck) -> None:
    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.normal_(m.weight, 1.0, 0.3)
            nn.init.normal_(m.bias, 0.0, 0.3)
    for sampler in (block.sampler1, block.sampler2):
        nn.init.normal_(sampler.conv.weight)
        nn.init.zeros_(sampler.conv.bias)
    for conv in (block.conv1, block.conv2):
        conv.interp.sigma.data.fill_(0.8)


def _dense_reference(block: SampledBottleneck, x: torch.Tensor) -> torch.Tensor:
    """The authors' forward: dense convs, reconstruct conv1/conv2 outputs, dense conv3."""
    m1, m2 = block.sampler1(x).mask, block.sampler2(x).mask
    c1, c2 = block.conv1, block.conv2
    out = c1.interp(c1.act(c1.bn(c1.conv(x))), m1)
    out = c2.interp(c2.act(c2.bn(c2.conv(out))), m2)
    return block.act(block.conv3(out) + block.shortcut(x))


@pytest.mark.parametrize(("in_ch", "stride"), [(16, 1), (8, 2)])
def test_sparse_inference_equals_the_dense_masked_block(in_ch: int, stride: int) -> None:
    block = SampledBottleneck(in_ch, 4, stride, grid_interval=5)
    _randomise(block)
    block.eval()
    x = torch.randn(2, in_ch, 14, 12)
    with torch.no_grad():
        out = block(x)
        m1, m2 = block.sampler1(x).mask, block.sampler2(x).mask
        assert 0.1 < m1.mean() < 0.9 and 0.1 < m2.mean() < 0.9
        torch.testing.assert_close(out, _dense_reference(block, x), atol=1e-4, rtol=1e-4)
    assert out.shape == (2, 16, 14 // stride, 12 // stride)


def test_at_initialisation_the_block_is_a_plain_bottleneck() -> None:
    block = SampledBottleneck(16, 4).eval()  # p = 0.95 everywhere -> every position sampled
    x = torch.randn(1, 16, 9, 9)
    with torch.no_grad():
        c1, c2 = block.conv1, block.conv2
        plain = block.conv3(c2.act(c2.bn(c2.conv(c1.act(c1.bn(c1.conv(x)))))))
        torch.testing.assert_close(block(x), torch.relu(plain + x), atol=1e-5, rtol=1e-5)


def test_identity_path_is_untouched() -> None:
    block = SampledBottleneck(16, 4).eval()
    _randomise(block)
    nn.init.zeros_(block.conv3.bn.weight)
    nn.init.zeros_(block.conv3.bn.bias)
    x = torch.randn(1, 16, 10, 10)
    with torch.no_grad():
        torch.testing.assert_close(block(x), torch.relu(x))


def test_training_backpropagates_into_samplers_and_records_sparsity() -> None:
    model = nn.Sequential(SampledBottleneck(8, 2, 1), SampledBottleneck(8, 2, 2)).train()
    out = model(torch.randn(2, 8, 12, 12))
    terms = collect_sparsity(model)
    assert len(terms) == 2
    loss = out.mean() + sparsity_loss(terms, 0.1)
    loss.backward()
    for block in model:
        assert block.sampler1.conv.weight.grad.abs().sum() > 0
        assert block.sampler2.conv.bias.grad.abs().sum() > 0
        assert block.conv2.interp.sigma.grad is not None
    expected = 0.25 * torch.sigmoid(torch.tensor(3.0)) + 0.75 * torch.sigmoid(torch.tensor(3.0))
    assert terms[0].item() == pytest.approx(expected.item(), rel=1e-5)
