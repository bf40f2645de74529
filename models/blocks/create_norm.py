"""Normalisation factory (after timm ``create_norm.py``): blocks take a norm by name or type.

All norms here fold into the preceding conv at export (BatchNorm) or are identity, which keeps
the int8 graphs free of standalone normalisation ops.
"""

from __future__ import annotations

from torch import nn

NormLayer = str | type[nn.Module] | None

_NORMS: dict[str, type[nn.Module]] = {
    "batchnorm": nn.BatchNorm2d,
    "bn": nn.BatchNorm2d,
    "batchnorm2d": nn.BatchNorm2d,
    "identity": nn.Identity,
    "none": nn.Identity,
}


def get_norm_layer(norm: NormLayer) -> type[nn.Module]:
    if norm is None:
        return nn.Identity
    if isinstance(norm, type):
        return norm
    if norm.lower() not in _NORMS:
        raise ValueError(f"unknown norm {norm!r}; known: {sorted(_NORMS)}")
    return _NORMS[norm.lower()]


def create_norm(norm: NormLayer, channels: int) -> nn.Module:
    layer = get_norm_layer(norm)
    return nn.Identity() if layer is nn.Identity else layer(channels)
