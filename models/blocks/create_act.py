"""Activation factory (after timm ``create_act.py``): blocks take an activation by name or type.

In exportable mode (``config.set_exportable``) activations without a native int8 kernel in
XNNPACK / TFLite are replaced by the closest one that has: SiLU, GELU and Mish become
Hardswish. ReLU, ReLU6, LeakyReLU, Hardswish, Sigmoid, PReLU and identity are kept.

``"hardsigmoid"`` builds ``HardSigmoid`` (relu6(x + 3) / 6 with float constants): the same
function as ``nn.Hardsigmoid``, whose decomposition casts integer constants that XNNPACK
leaves outside its delegate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import is_exportable


class HardSigmoid(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(x + 3.0) * (1.0 / 6.0)


class LeakyReLU(nn.LeakyReLU):
    """LeakyReLU with slope 0.1 (YOLOv3's), not torch's 0.01: the int8-native stand-in for a
    PReLU, whose slopes start at 0.25."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.1, inplace)


ActLayer = str | type[nn.Module] | None

_ACTS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "prelu": nn.PReLU,
    "leaky_relu": LeakyReLU,
    "hardswish": nn.Hardswish,
    "hard_swish": nn.Hardswish,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "gelu": nn.GELU,
    "mish": nn.Mish,
    "sigmoid": nn.Sigmoid,
    "hardsigmoid": HardSigmoid,
    "identity": nn.Identity,
    "none": nn.Identity,
}
_EXPORT_SAFE = {"silu": "hardswish", "swish": "hardswish", "gelu": "hardswish",
                "mish": "hardswish"}


def get_act_layer(act: ActLayer) -> type[nn.Module]:
    """Resolve a name or type to an activation class (``None`` means identity)."""
    if act is None:
        return nn.Identity
    if isinstance(act, type):
        return act
    name = act.lower()
    if is_exportable():
        name = _EXPORT_SAFE.get(name, name)
    if name not in _ACTS:
        raise ValueError(f"unknown activation {act!r}; known: {sorted(_ACTS)}")
    return _ACTS[name]


def create_act(act: ActLayer, channels: int | None = None) -> nn.Module:
    """Instantiate an activation; PReLU gets one slope per channel when ``channels`` is given."""
    layer = get_act_layer(act)
    if layer is nn.PReLU:
        return nn.PReLU(channels or 1)
    if layer in (nn.ReLU, nn.ReLU6, LeakyReLU, nn.Hardswish, nn.SiLU, nn.Mish):
        return layer(inplace=True)
    return layer()
