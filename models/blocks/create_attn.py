"""Attention factory (the ``create_act`` habit for attention): blocks take an attention
module by name (``"se"``, ``"tiedse"``, ``"cbam"``), by a factory ``channels -> nn.Module``
(e.g. ``functools.partial(SE, gate="hardsigmoid")``) or None for identity."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .cbam import CBAM
from .se import SE
from .tied import TiedSE

AttnLayer = str | Callable[[int], nn.Module] | None

_ATTNS: dict[str, Callable[[int], nn.Module]] = {"se": SE, "tiedse": TiedSE, "cbam": CBAM}


def create_attn(attn: AttnLayer, channels: int) -> nn.Module:
    """Instantiate an attention module by name or factory (None means identity)."""
    if attn is None:
        return nn.Identity()
    if isinstance(attn, str):
        if attn.lower() not in _ATTNS:
            raise ValueError(f"unknown attention {attn!r}; known: {sorted(_ATTNS)}")
        attn = _ATTNS[attn.lower()]
    return attn(channels)
