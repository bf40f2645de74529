"""Dynamic weight decay on BatchNorm gammas (Cheng et al., "Highly Efficient Salient Object
Detection with 100K Parameters", ECCV 2020, arXiv 2003.05643, Sec. 3.3, Eq. 4-5), in the
form of the authors' released training code.

For every target BN (weight gamma) followed by an activation with output y, the loss gets

    lambda * 0.5 * sum_c( mean_batch |GAP(y_c)| * gamma_c^2 ),  the activation term detached,

so d/dgamma_c = lambda * act_c * gamma_c: a channel's gamma decays in proportion to how much
that channel fires, useless channels go to zero steadily and can then be pruned (learnable
channel counts). lambda = 3 by default. The target gammas are excluded from the ordinary L2
decay (``split_decay_groups``; 5e-3 in the paper) and receive only this term.

Targets (``decay_targets``), as in the authors' code: all three gOctConv-CBRs of every
``ILBlock`` (the first, whose gammas decide the pruning mask, and both depthwise ones), one
(BN, act) pair per scale. For the MobileNetV2 ``InvertedResidual`` (SpeckNet), the analogue:
the expand and the depthwise conv-BN-act, whose width is the block's prunable hidden width;
for its octave form (``OctInvertedResidual``) the expand and depthwise gOctConv-CBRs, per
scale, as for an ILBlock.

Activations are captured by forward hooks on the activation modules, recorded only in
training mode and only for the module the hook was registered on (a deep copy such as an EMA
model carries the hook along but never writes into it).

Departures from the authors' code:
- NOTE: their hook also multiplies by a per-scale "FLOP weight" (``expandflop``); their
  configs set it to 1.0, which is what this implements.
- NOTE: their optimiser excludes ``conv1x1`` and ``conv3x3_1`` gammas from L2 decay but, by a
  typo, not ``conv3x3_2``; here every target gamma is excluded.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .depthwise import InvertedResidual
from .goctconv import ILBlock
from .oct_residual import OctInvertedResidual

Target = tuple[nn.BatchNorm2d, nn.Module]  # (BN whose gamma decays, activation after it)


def decay_targets(model: nn.Module) -> list[Target]:
    """(BN, activation) pairs under dynamic decay: per scale of every gOctConv-CBR of every
    ILBlock and of the expand and depthwise gOctConv-CBRs of every OctInvertedResidual, and
    the expand and depthwise units of every expanding InvertedResidual."""
    targets: list[Target] = []
    for module in model.modules():
        if isinstance(module, ILBlock | OctInvertedResidual):
            for cbr in module.cbrs():
                targets += [(bn, act) for bn, act in zip(cbr.bns, cbr.acts, strict=True)
                            if isinstance(bn, nn.BatchNorm2d)]
        elif isinstance(module, InvertedResidual) and not isinstance(module.expand,
                                                                     nn.Identity):
            if not hasattr(module.dw, "bn"):
                raise ValueError("dynamic decay needs conv-BN depthwise units; "
                                 f"{type(module.dw).__name__} (rep=True) has none")
            targets += [(unit.bn, unit.act) for unit in (module.expand, module.dw)
                        if isinstance(unit.bn, nn.BatchNorm2d)]
    return targets


class DynamicWeightDecay:
    """Callable loss term; call it after each training forward: ``loss = task + dwd()``."""

    def __init__(self, model: nn.Module, lam: float = 3.0,
                 targets: list[Target] | None = None) -> None:
        self.lam = lam
        self.targets = decay_targets(model) if targets is None else targets
        if not self.targets:
            raise ValueError(f"{type(model).__name__} has no BatchNorm under dynamic decay")
        self._acts: list[torch.Tensor | None] = [None] * len(self.targets)
        self._handles = [act.register_forward_hook(self._recorder(k, act))
                         for k, (_, act) in enumerate(self.targets)]

    def _recorder(self, k: int, owner: nn.Module) -> Callable[..., None]:
        def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            if module is owner and module.training:
                gap = output.detach().mean(dim=(2, 3))  # (N, C)
                self._acts[k] = gap.abs().mean(dim=0)  # (C,)
        return hook

    def channel_activity(self) -> list[torch.Tensor]:
        """mean_batch |GAP(y_c)| of each target, from the last training forward."""
        if any(a is None for a in self._acts):
            raise RuntimeError("run a training-mode forward before asking for the decay term")
        return [a for a in self._acts if a is not None]

    def __call__(self) -> torch.Tensor:
        terms = [(act * bn.weight.pow(2)).sum()
                 for act, (bn, _) in zip(self.channel_activity(), self.targets, strict=True)]
        return self.lam * 0.5 * torch.stack(terms).sum()

    def remove(self) -> None:
        """Detach the hooks (the model then runs exactly as without dynamic decay)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def split_decay_groups(model: nn.Module, weight_decay: float, dynamic: bool = True,
                       targets: list[Target] | None = None) -> list[dict]:
    """Optimizer parameter groups: everything under ordinary L2 ``weight_decay`` except, when
    ``dynamic``, the gammas under dynamic decay (weight decay 0). Empty groups are left out."""
    if not dynamic:
        return [{"params": list(model.parameters()), "weight_decay": weight_decay}]
    targets = decay_targets(model) if targets is None else targets
    special = {id(bn.weight) for bn, _ in targets}
    gammas = [p for p in model.parameters() if id(p) in special]
    others = [p for p in model.parameters() if id(p) not in special]
    groups = [{"params": others, "weight_decay": weight_decay},
              {"params": gammas, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
