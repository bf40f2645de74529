import pytest
import torch

from models.blocks.svn import SVN, dominant_left_singular_vector, region_matrices


def _top_left_singular(m: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svd(m, full_matrices=False).U[..., 0]  # (B, C)


def test_power_iteration_matches_svd_on_non_negative_features() -> None:
    m = torch.rand(32, 16, 12)  # post-ReLU-like regions, default 3 iterations
    u = dominant_left_singular_vector(m)
    cos = (u * _top_left_singular(m)).sum(-1).abs()
    assert cos.min() > 0.999
    torch.testing.assert_close(u.norm(dim=-1), torch.ones(32), rtol=0, atol=1e-4)


def test_power_iteration_matches_svd_on_signed_low_rank_matrices() -> None:
    a, b = torch.randn(16, 8, 1), torch.randn(16, 1, 20)
    m = 3 * a @ b + 0.1 * torch.randn(16, 8, 20)  # clear spectral gap, mixed signs
    u = dominant_left_singular_vector(m, num_iters=20)
    assert (u * _top_left_singular(m)).sum(-1).abs().min() > 0.999


def test_sign_points_towards_the_region_sum() -> None:
    m = torch.randn(64, 8, 10)
    u = dominant_left_singular_vector(m, num_iters=5)
    assert ((u * m.sum(-1)).sum(-1) >= 0).all()
    assert (u < 0).any()  # signed inputs: the rule, not non-negativity, fixes the sign


def test_power_iteration_ignores_flattening_order() -> None:
    m = torch.randn(4, 8, 15)
    perm = torch.randperm(15)
    torch.testing.assert_close(dominant_left_singular_vector(m[..., perm]),
                               dominant_left_singular_vector(m), rtol=1e-4, atol=1e-5)


def test_region_matrices_are_row_major_blocks() -> None:
    x = torch.randn(2, 3, 8, 12)
    regions = region_matrices(x, 4)  # (2*16, 3, 2*3)
    assert regions.shape == (32, 3, 6)
    n, i, j = 1, 2, 3
    block = x[n, :, 2 * i:2 * i + 2, 3 * j:3 * j + 3].reshape(3, 6)
    torch.testing.assert_close(regions[n * 16 + i * 4 + j], block)


def test_svn_region_vectors_are_regional_singular_vectors() -> None:
    svn = SVN(8, 4, grids=(2, 1), num_iters=10)
    k = torch.rand(2, 4, 6, 4)
    kv = svn.region_vectors(k)  # (2, 4 + 1, 4)
    assert kv.shape == (2, 5, 4)
    ref_region = _top_left_singular(k[:, :, 3:, :2].reshape(2, 4, 6))  # grid 2, region (1, 0)
    ref_whole = _top_left_singular(k.reshape(2, 4, 24))
    assert (kv[:, 2] * ref_region).sum(-1).abs().min() > 0.999
    assert (kv[:, 4] * ref_whole).sum(-1).abs().min() > 0.999


@pytest.mark.parametrize("hw", [(8, 8), (12, 10), (3, 5), (16, 32)])
def test_svn_keeps_shape_at_any_size(hw: tuple[int, int]) -> None:
    svn = SVN(16, 8).eval()
    x = torch.randn(2, 16, *hw)
    assert svn(x).shape == x.shape
    assert svn.region_vectors(svn.key(x)).shape == (2, 64 + 16, 8)


def test_svn_is_residual() -> None:
    svn = SVN(16, 8).eval()
    with torch.no_grad():
        svn.proj.bn.weight.zero_()
        svn.proj.bn.bias.zero_()
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(svn(x), x)


def test_svn_is_non_local() -> None:
    svn = SVN(16, 8).eval()
    x = torch.randn(1, 16, 16, 16, requires_grad=True)
    svn(x)[0, :, 0, 0].sum().backward()
    assert x.grad[0, :, -1, -1].abs().sum() > 0  # the far corner reaches the first position


@pytest.mark.slow
@pytest.mark.parametrize("size", [8, 12])  # HW = 64 = C' (LRNNet at 64 px) and 144 != C'
def test_the_tflite_conversion_computes_what_eager_does(size: int) -> None:
    """litert-torch 0.10 fed flatten(2).transpose(1, 2)'s queries as (N, C', HW) to a
    FULLY_CONNECTED, which TFLite refused unless HW == C' (``SVN.forward``'s note)."""
    from export.parity import cosine, eager_outputs
    from export.tflite import export_tflite
    from firmware_py.runtimes.litert import LiteRTRunner

    torch.manual_seed(0)
    svn = SVN(16, reduced_channels=64).eval()
    x = torch.rand(1, 16, size, size)
    tflite = export_tflite(svn, (x,), precision="fp32")
    (eager,) = eager_outputs(svn, x)
    for delegates in (True, False):
        (got,) = LiteRTRunner(tflite.buffer, delegates=delegates)(x.numpy())
        assert cosine(eager.ravel(), got.ravel()) > 0.9999
