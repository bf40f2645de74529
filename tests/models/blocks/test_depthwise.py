import collections
from functools import partial

import pytest
import torch
from torch import nn

from models.blocks.cbam import CBAM
from models.blocks.config import exportable
from models.blocks.create_attn import create_attn
from models.blocks.depthwise import DepthwiseSeparableConv, InvertedResidual
from models.blocks.se import SE
from models.blocks.tied import TiedSE


def test_depthwise_separable_param_count_and_shape() -> None:
    block = DepthwiseSeparableConv(8, 16, stride=2, norm=None)
    assert block.dw.conv.groups == 8
    # depthwise 3x3 (+bias) then pointwise 1x1 (+bias), no norms.
    assert sum(p.numel() for p in block.parameters()) == 8 * 9 + 8 + 8 * 16 + 16
    assert block(torch.randn(2, 8, 10, 10)).shape == (2, 16, 5, 5)


@pytest.mark.parametrize(("in_ch", "out_ch", "stride", "residual"),
                         [(16, 16, 1, True), (16, 24, 1, False), (16, 16, 2, False)])
def test_inverted_residual_adds_skip_only_when_shapes_match(
        in_ch: int, out_ch: int, stride: int, residual: bool) -> None:
    block = InvertedResidual(in_ch, out_ch, stride).eval()
    nn.init.zeros_(block.project.bn.weight)  # branch output becomes exactly zero
    x = torch.randn(2, in_ch, 8, 8)
    y = block(x)
    assert y.shape == (2, out_ch, 8 // stride, 8 // stride)
    assert block.use_residual is residual
    torch.testing.assert_close(y, x if residual else torch.zeros_like(y))


def test_inverted_residual_projection_is_linear() -> None:
    block = InvertedResidual(8, 12).eval()
    assert isinstance(block.project.act, nn.Identity)
    assert (block(torch.randn(2, 8, 6, 6)) < 0).any()


def test_inverted_residual_expansion() -> None:
    block = InvertedResidual(8, 8, expand_ratio=1)
    assert isinstance(block.expand, nn.Identity) and block.dw.conv.in_channels == 8
    assert InvertedResidual(8, 8, expand_ratio=4).dw.conv.groups == 32


def test_inverted_residual_dilation_keeps_size_and_widens_receptive_field() -> None:
    block = InvertedResidual(4, 4, expand_ratio=2, dilation=2).eval()
    x = torch.randn(1, 4, 11, 11, requires_grad=True)
    y = block(x)
    assert y.shape == x.shape
    y[0, :, 5, 5].sum().backward()
    rows = set(x.grad[0].abs().sum((0, 2)).nonzero().flatten().tolist())
    assert rows == {3, 5, 7}  # the 3x3 taps sit at 5 - 2, 5, 5 + 2


@pytest.mark.parametrize(("attn", "cls"), [("se", SE), ("TiedSE", TiedSE), ("cbam", CBAM),
                                           (partial(SE, gate="hardsigmoid"), SE)])
def test_attention_slot_takes_a_name_or_factory(attn: object, cls: type) -> None:
    block = InvertedResidual(8, 8, expand_ratio=4, attn=attn)
    assert isinstance(block.attn, cls)
    assert block(torch.randn(2, 8, 6, 6)).shape == (2, 8, 6, 6)


def test_create_attn_rejects_unknown_names() -> None:
    assert isinstance(create_attn(None, 8), nn.Identity)
    with pytest.raises(ValueError, match="unknown attention"):
        create_attn("eca", 8)


def test_exportable_switch_reaches_block_activations() -> None:
    with exportable():
        block = InvertedResidual(8, 8, act="silu")
    assert isinstance(block.dw.act, nn.Hardswish)


@pytest.mark.slow
@pytest.mark.parametrize("quantize", [False, True], ids=["fp32", "int8"])
def test_inverted_residual_with_tied_se_lowers_fully_to_xnnpack(quantize: bool) -> None:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    block = InvertedResidual(16, 16, attn="tiedse").eval()
    x = torch.randn(1, 16, 16, 16)
    program = torch.export.export(block, (x,))
    if quantize:
        quantizer = XNNPACKQuantizer().set_global(
            get_symmetric_quantization_config(is_per_channel=True))
        module = prepare_pt2e(program.module(), quantizer)
        for _ in range(4):  # calibration on random data is fine for a lowering check
            module(torch.randn_like(x))
        program = torch.export.export(convert_pt2e(module), (x,))
    edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    calls = [n for n in edge.exported_program().graph.nodes if n.op == "call_function"]
    left = collections.Counter(str(n.target) for n in calls
                               if "executorch_call_delegate" not in str(n.target)
                               and "getitem" not in str(n.target))
    assert not left, f"undelegated: {dict(left)}"


@pytest.mark.parametrize("groups", [1, 2])
def test_tied_expand_equals_its_block_diagonal_dense_conv(groups: int) -> None:
    """A TBC / TGC expand is the dense 1x1 whose weight holds the one thin filter bank on
    every diagonal block (arXiv 2009.12021, Sec. 3), zeros elsewhere; the projection stays
    dense."""
    from models.blocks.tied import TBC

    torch.manual_seed(0)
    tied = InvertedResidual(16, 16, expand_ratio=3.0, tied=(2, groups)).eval()
    plain = InvertedResidual(16, 16, expand_ratio=3.0).eval()
    plain.load_state_dict(tied.state_dict(), strict=False)  # all but the expand conv
    thin = tied.expand.conv.conv.weight  # (48/2, 16/2/G, 1, 1)
    with torch.no_grad():
        dense = torch.block_diag(*[thin[:, :, 0, 0]] * 2) if groups == 1 else torch.block_diag(
            *[torch.block_diag(*thin[:, :, 0, 0].chunk(groups)) for _ in range(2)])
        plain.expand.conv.weight.copy_(dense[:, :, None, None])
        x = torch.randn(2, 16, 6, 6)
        torch.testing.assert_close(tied(x), plain(x))
    assert isinstance(tied.expand.conv, TBC) and isinstance(plain.project.conv, nn.Conv2d)
    assert thin.numel() * 4 * groups == plain.expand.conv.weight.numel()
