"""Global layer-construction switches (after timm ``layers/config.py``).

``set_exportable(True)`` makes the factories in ``create_act`` pick only activations that the
int8 XNNPACK and TFLite kernels run natively, so one flag builds a device-safe variant of any
network. The switch is read when a layer is *built*; it never changes an existing module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_EXPORTABLE = False


def is_exportable() -> bool:
    return _EXPORTABLE


def set_exportable(value: bool) -> None:
    global _EXPORTABLE
    _EXPORTABLE = bool(value)


@contextmanager
def exportable(value: bool = True) -> Iterator[None]:
    """Build layers inside this context with the exportable switch set to ``value``."""
    previous = _EXPORTABLE
    set_exportable(value)
    try:
        yield
    finally:
        set_exportable(previous)
