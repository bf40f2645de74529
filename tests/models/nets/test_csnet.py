import pytest
import torch
from torch import nn

from models.blocks.dynamic_decay import decay_targets
from models.blocks.goctconv import ILBlock
from models.nets.csnet import CSNet, CSNetConfig, MultiDilationBlock, prunable_groups
from models.registry import create_model, model_record
from models.summary import count_params


@pytest.mark.parametrize(("name", "params"), [("csnet-x1", 210_985), ("csnet-x2", 788_631)])
def test_param_counts_match_the_authors_unpruned_nets(name: str, params: int) -> None:
    assert count_params(create_model(name)) == params
    record = model_record(name)
    assert record.task == "saliency" and record.input_size == (3, 224, 224)


def test_prior_variant_is_about_100k() -> None:
    assert 90_000 < count_params(create_model("csnet-prior")) < 120_000


def test_output_is_one_channel_logits_at_input_size() -> None:
    model = create_model("csnet-x1").eval()
    y = model(torch.randn(2, 3, 64, 96))
    assert y.shape == (2, 1, 64, 96)


def test_stage_layout_widths_strides_and_scales() -> None:
    model = CSNet(CSNetConfig(basewidth=20))
    assert [len(s) for s in model.stages] == [3, 4, 6, 4]
    assert model.stem[0].out_channels == [10, 10]
    widths = [[sum(b.out_channels) for b in s] for s in model.stages]
    assert widths == [[20] * 3, [40] * 4, [80] * 6, [80] * 4]
    scales = [[len(b.out_channels) for b in s] for s in model.stages]
    assert scales == [[2, 2, 2], [2, 2, 2, 1], [2] * 5 + [1], [2, 2, 2, 1]]
    strides = [[b.conv1.conv.stride for b in s] for s in model.stages]
    assert strides == [[1] * 3, [2, 1, 1, 1], [2] + [1] * 5, [2, 1, 1, 1]]
    assert model.csf.fuse.out_channels == [13, 26, 26]  # CSF widths: w // 3


def test_stage_resolutions() -> None:
    model = CSNet(CSNetConfig(basewidth=8)).eval()
    sizes = []
    for stage in model.stages:
        stage.register_forward_hook(lambda m, i, o: sizes.append(tuple(o[0].shape[-2:])))
    model(torch.randn(1, 3, 64, 64))
    assert sizes == [(64, 64), (32, 32), (16, 16), (8, 8)]


def test_multi_dilation_block_splits_channels_over_dilations() -> None:
    block = MultiDilationBlock(6, 13, (1, 2, 4, 8, 16))
    assert [b.out_channels for b in block.branches] == [2, 2, 2, 2, 5]
    assert [b.dilation for b in block.branches] == [(d, d) for d in (1, 2, 4, 8, 16)]
    assert all(b.groups == 1 and b.in_channels == 6 for b in block.branches)
    assert count_params(block) == 6 * 13 * 9 + 3 * 13  # full convs, BN and PReLU
    y = block(torch.randn(2, 6, 40, 40))
    assert y.shape == (2, 13, 40, 40)


def test_multi_dilation_block_skips_empty_branches() -> None:
    block = MultiDilationBlock(4, 3, (1, 2, 4, 8, 16))
    assert [b.dilation[0] for b in block.branches] == [16]  # 3 // 5 = 0: the rest goes last


def test_prunable_groups_cover_every_ilblock() -> None:
    model = create_model("csnet-x1")
    groups = prunable_groups(model)
    assert len(groups) == 1 + 3 + 4 + 6 + 4
    assert groups[0].name == "stem.0"
    for g in groups:
        assert g.bns == list(g.block.conv1.bns)
        for bn, inherit in zip(g.bns, g.inherit, strict=True):
            assert len(inherit) == 7
            for m in inherit:
                width = m.num_parameters if isinstance(m, nn.PReLU) else (
                    m.out_channels if isinstance(m, nn.Conv2d) else m.num_features)
                assert width == bn.num_features
    # dynamic decay covers the three CBRs of exactly these blocks
    assert len(decay_targets(model)) == 3 * sum(len(g.bns) for g in groups)


def test_learned_widths_rebuild() -> None:
    base = CSNet(CSNetConfig(basewidth=8))
    widths = [[max(1, c // 2) for c in g.block.out_channels] for g in prunable_groups(base)]
    slim = CSNet(CSNetConfig(basewidth=8, block_channels=widths, csf_channels=[2, 3, 4]))
    assert [b.out_channels for b in slim.modules() if isinstance(b, ILBlock)] == widths
    assert slim.csf.out_channels == 9
    assert count_params(slim) < count_params(base)
    assert slim(torch.randn(1, 3, 32, 32)).shape == (1, 1, 32, 32)
    with pytest.raises(ValueError, match="block_channels"):
        CSNet(CSNetConfig(basewidth=8, block_channels=widths[:-1]))
