"""Which artifact of a bundle a board runs, and whether a bundle fits the device at all.

A bundle fits when its ``boards`` is empty or names the device's board profile, and it has an
artifact for a runtime the device has. The runtimes a device has are those whose Python
package is installed (found with ``importlib.util.find_spec``, which does not import it: a
runtime is not loaded, nor ExecuTorch's runner built, just to be counted), or the list the
operator gives. The artifact chosen follows the board's ``runtime.prefer`` then the other
runtime, and within a runtime ``runtime.precision`` then the other precision (the fallbacks
``firmware_py.board.RuntimeConfig`` documents).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from firmware_py.board import BoardConfig
from firmware_py.device import DeviceError
from firmware_py.manifest import Artifact, Manifest

RUNTIMES = ("litert", "executorch")
# packages that provide each runtime, in the order firmware_py.runtimes tries them
RUNTIME_PACKAGES = {"litert": ("ai_edge_litert", "tflite_runtime"), "executorch": ("executorch",)}


class IncompatibleBundle(DeviceError):
    """The bundle is for another board, or has no artifact this device can run."""


def available_runtimes() -> tuple[str, ...]:
    """Runtimes whose package is installed here."""
    return tuple(r for r in RUNTIMES
                 if any(importlib.util.find_spec(p) is not None for p in RUNTIME_PACKAGES[r]))


def artifact_order(artifacts: Sequence[Artifact], runtime: str, precision: str
                   ) -> list[Artifact]:
    """``artifacts`` in the order a board preferring ``runtime`` and ``precision`` tries them:
    the preferred runtime first, within a runtime the preferred precision first."""
    return sorted(artifacts, key=lambda a: (a.runtime != runtime, a.precision != precision))


def select_artifact(manifest: Manifest, board: BoardConfig,
                    runtimes: Sequence[str] | None = None) -> Artifact:
    """The artifact ``board`` runs, given the device's ``runtimes`` (default: installed)."""
    have = tuple(available_runtimes() if runtimes is None else runtimes)
    for artifact in artifact_order(manifest.artifacts, board.runtime.prefer,
                                   board.runtime.precision):
        if artifact.runtime in have:
            return artifact
    offered = sorted({f"{a.runtime}/{a.precision}" for a in manifest.artifacts})
    raise IncompatibleBundle(f"bundle '{manifest.model}' has artifacts for {', '.join(offered)}; "
                             f"this device (board {board.name}) has runtimes "
                             f"{', '.join(have) or 'none'}: nothing it can run")


def check_board(manifest: Manifest, board: BoardConfig) -> None:
    """Refuse a bundle built for other boards (``specks run``, ``selftest`` and ``device
    install`` all ask this)."""
    if manifest.boards and board.name not in manifest.boards:
        raise IncompatibleBundle(f"bundle '{manifest.model}' is for boards "
                                 f"{', '.join(manifest.boards)}; this device is {board.name}")


def check_compatible(manifest: Manifest, board: BoardConfig,
                     runtimes: Sequence[str] | None = None) -> Artifact:
    """Refuse a bundle for another board or runtime; return the artifact the board runs."""
    check_board(manifest, board)
    return select_artifact(manifest, board, runtimes)
