import copy

import pytest
import torch
from torch import nn

from models.blocks.depthwise import InvertedResidual
from models.blocks.dynamic_decay import DynamicWeightDecay, decay_targets, split_decay_groups
from models.blocks.goctconv import ILBlock


def _block() -> ILBlock:
    block = ILBlock([3, 3], 8, alpha_out=[0.5, 0.5]).train()
    for bn in (m for m in block.modules() if isinstance(m, nn.BatchNorm2d)):
        nn.init.uniform_(bn.weight, 0.5, 1.5)  # distinct gammas per channel
    for act in (m for m in block.modules() if isinstance(m, nn.PReLU)):
        nn.init.uniform_(act.weight, 0.0, 4.0)  # slopes > 1 make some GAPs negative: |.| matters
    return block


def _inputs() -> list[torch.Tensor]:
    return [torch.randn(4, 3, 8, 8), torch.randn(4, 3, 4, 4)]


def _activity(ys: list[torch.Tensor]) -> list[torch.Tensor]:
    return [y.detach().mean(dim=(2, 3)).abs().mean(dim=0) for y in ys]


def test_targets_are_every_cbr_of_every_ilblock_per_scale() -> None:
    block = _block()
    targets = decay_targets(nn.Sequential(block))
    expected = [(bn, act) for cbr in block.cbrs() for bn, act in zip(cbr.bns, cbr.acts,
                                                                       strict=True)]
    assert targets == expected and len(targets) == 6


def test_term_and_gradient_match_the_formula() -> None:
    block, xs = _block(), _inputs()
    dwd = DynamicWeightDecay(block, lam=3.0)
    y1 = block.conv1(xs)
    y2 = block.dw1(y1)
    y3 = block.dw2(y2)
    acts = _activity(y1) + _activity(y2) + _activity(y3)  # post-PReLU, in target order
    gammas = [bn.weight for bn, _ in dwd.targets]
    term = dwd()
    expected = 3.0 * 0.5 * sum((a * g.pow(2)).sum() for a, g in zip(acts, gammas, strict=True))
    torch.testing.assert_close(term, expected)
    grads = torch.autograd.grad(term, gammas)
    for grad, a, g in zip(grads, acts, gammas, strict=True):
        # d/dgamma_c = lambda * act_c * gamma_c: decay in proportion to how much c fires
        torch.testing.assert_close(grad, 3.0 * a * g.detach())


def test_activity_is_detached_so_only_gammas_get_gradient() -> None:
    block = _block()
    dwd = DynamicWeightDecay(block)
    block(_inputs())
    term = dwd()
    conv_w = block.conv1.conv.convs["0to0"].weight
    beta = block.conv1.bns[0].bias
    assert torch.autograd.grad(term, [conv_w, beta], allow_unused=True) == (None, None)


def test_eval_forwards_and_copies_do_not_overwrite_the_record() -> None:
    block = _block()
    dwd = DynamicWeightDecay(block)
    block(_inputs())
    before = [a.clone() for a in dwd.channel_activity()]
    block.eval()
    block([10 * x for x in _inputs()])
    ema = copy.deepcopy(block).train()  # carries the hooks along
    ema([10 * x for x in _inputs()])
    for a, b in zip(dwd.channel_activity(), before, strict=True):
        torch.testing.assert_close(a, b)


def test_needs_a_forward_and_can_be_removed() -> None:
    block = _block()
    dwd = DynamicWeightDecay(block)
    with pytest.raises(RuntimeError, match="forward"):
        dwd()
    dwd.remove()
    block(_inputs())
    with pytest.raises(RuntimeError, match="forward"):
        dwd()


def test_inverted_residual_targets_and_empty_models() -> None:
    block = InvertedResidual(8, 8, expand_ratio=4)
    assert decay_targets(block) == [(block.expand.bn, block.expand.act),
                                    (block.dw.bn, block.dw.act)]
    dwd = DynamicWeightDecay(block)
    block.train()(torch.randn(2, 8, 6, 6))
    assert dwd().item() > 0
    assert decay_targets(InvertedResidual(8, 8, expand_ratio=1)) == []
    with pytest.raises(ValueError, match="no BatchNorm"):
        DynamicWeightDecay(nn.Conv2d(3, 3, 1))


def test_octave_inverted_residual_targets_each_scale_of_expand_and_depthwise() -> None:
    from models.blocks.oct_residual import OctInvertedResidual

    block = OctInvertedResidual(8, 8, expand_ratio=4)
    assert decay_targets(block) == [(bn, act) for cbr in (block.expand, block.dw)
                                    for bn, act in zip(cbr.bns, cbr.acts, strict=True)]
    assert len(decay_targets(block)) == 4  # two units, two scales; the projection is linear
    dwd = DynamicWeightDecay(block)
    block.train()(torch.randn(2, 8, 6, 6))
    assert dwd().item() > 0


def test_decay_groups_exclude_dynamic_gammas_from_l2() -> None:
    block = _block()
    groups = split_decay_groups(block, 5e-3)
    decayed, dynamic = groups
    assert dynamic["weight_decay"] == 0.0 and decayed["weight_decay"] == 5e-3
    gammas = {id(bn.weight) for bn, _ in decay_targets(block)}
    assert {id(p) for p in dynamic["params"]} == gammas
    all_ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(all_ids) == sorted(id(p) for p in block.parameters())
    # one SGD step on zero gradients: only L2 decay moves weights, and never the gammas
    for p in block.parameters():
        p.grad = torch.zeros_like(p)
    gamma = block.conv1.bns[0].weight
    conv_w = block.conv1.conv.convs["0to0"].weight
    g0, w0 = gamma.detach().clone(), conv_w.detach().clone()
    torch.optim.SGD(groups, lr=1.0).step()
    torch.testing.assert_close(gamma.detach(), g0)
    torch.testing.assert_close(conv_w.detach(), w0 * (1 - 5e-3))


def test_decay_groups_without_dynamic_decay_are_one_group() -> None:
    block = _block()
    (group,) = split_decay_groups(block, 5e-3, dynamic=False)
    assert len(group["params"]) == len(list(block.parameters()))
