"""Model registry (after timm ``_registry.py``): short entry points registered by name.

Entry points build an ``nn.Module`` from keyword overrides of their config dataclass. The
deployment record (default input size and task) lives here beside the entry point, not in the
architecture config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

ModelFn = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelRecord:
    """What the tools need to know about a registered net besides its architecture."""

    name: str
    fn: ModelFn
    input_size: tuple[int, int, int]  # (C, H, W) used for tables, export and tests
    task: str  # "saliency" | "segmentation" | "detection" | ...


_REGISTRY: dict[str, ModelRecord] = {}


def register_model(*, input_size: tuple[int, int, int], task: str) -> Callable[[ModelFn], ModelFn]:
    """Register ``fn`` under its name with underscores written as hyphens (``csnet_x1`` ->
    ``csnet-x1``)."""

    def wrap(fn: ModelFn) -> ModelFn:
        name = fn.__name__.replace("_", "-")
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelRecord(name, fn, input_size, task)
        return fn

    return wrap


def _load_nets() -> None:
    from . import nets  # noqa: F401  (importing registers every net)


def list_models() -> list[str]:
    _load_nets()
    return sorted(_REGISTRY)


def model_record(name: str) -> ModelRecord:
    _load_nets()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def create_model(name: str, **overrides) -> nn.Module:
    """Build a registered net; ``overrides`` replace fields of its config dataclass."""
    return model_record(name).fn(**overrides)
