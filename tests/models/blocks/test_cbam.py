import torch

from models.blocks.cbam import CBAM, ChannelAttention, SpatialAttention


def test_channel_attention_matches_avg_and_max_pool_mlp() -> None:
    ca = ChannelAttention(16, reduction=4)
    x = torch.randn(2, 16, 5, 7)

    def mlp(s: torch.Tensor) -> torch.Tensor:
        return ca.fc2(torch.relu(ca.fc1(s)))

    ref = x * torch.sigmoid(mlp(x.mean((2, 3), keepdim=True)) + mlp(x.amax((2, 3), keepdim=True)))
    torch.testing.assert_close(ca(x), ref)


def test_spatial_attention_matches_channel_mean_and_max_reference() -> None:
    sa = SpatialAttention(12)
    x = torch.randn(2, 12, 6, 5)
    pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
    torch.testing.assert_close(sa(x), x * torch.sigmoid(sa.conv(pooled)))


def test_cbam_applies_channel_then_spatial_attention() -> None:
    cbam = CBAM(16, reduction=4)
    x = torch.randn(2, 16, 6, 6)
    torch.testing.assert_close(cbam(x), cbam.spatial(cbam.channel(x)))
    assert not torch.allclose(cbam(x), cbam.channel(cbam.spatial(x)))


def test_cbam_has_no_state_beyond_learned_weights_and_exports() -> None:
    cbam = CBAM(8, reduction=2).eval()
    assert "spatial.mean_weight" not in cbam.state_dict()
    x = torch.randn(1, 8, 6, 6)
    torch.testing.assert_close(torch.export.export(cbam, (x,)).module()(x), cbam(x))
