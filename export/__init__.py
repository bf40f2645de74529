"""Export: the one bridge from a trained ``nn.Module`` to a device bundle.

Imports nothing heavy at import time (the CLI registers through here); torch, ExecuTorch and
litert-torch are imported inside the functions that use them.
"""

from __future__ import annotations


class ExportError(Exception):
    """An export could not produce a valid artifact or bundle; the message says why."""
