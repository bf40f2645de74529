"""Which artifact a board runs, and which bundles a device refuses."""

from __future__ import annotations

import pytest

from firmware_py.board import load_board
from firmware_py.device.compat import (
    IncompatibleBundle,
    available_runtimes,
    check_compatible,
    select_artifact,
)
from firmware_py.device.slots import read_manifest


def _manifest_with(bundle, combos):
    manifest = read_manifest(bundle)
    base = manifest.artifacts[0]
    artifacts = tuple(base.model_copy(update={"runtime": r, "precision": p,
                                              "file": f"m_{r}_{p}"}) for r, p in combos)
    return manifest.model_copy(update={"artifacts": artifacts})


RUNTIMES_ALL = ("litert", "executorch")
COMBOS = [("litert", "fp32"), ("litert", "int8"), ("executorch", "fp32"),
          ("executorch", "int8")]


@pytest.mark.parametrize("prefer,precision", [(r, p) for r, p in COMBOS])
def test_preferred_runtime_and_precision_win(bundles, prefer, precision) -> None:
    board = load_board("x86-generic", [f"runtime.prefer={prefer}",
                                       f"runtime.precision={precision}"])
    artifact = select_artifact(_manifest_with(bundles["v1"], COMBOS), board, RUNTIMES_ALL)
    assert (artifact.runtime, artifact.precision) == (prefer, precision)


def test_fallbacks_when_the_preferred_is_missing(bundles) -> None:
    board = load_board("x86-generic", ["runtime.prefer=executorch", "runtime.precision=int8"])
    manifest = _manifest_with(bundles["v1"], [("litert", "fp32"), ("executorch", "fp32")])
    assert select_artifact(manifest, board, RUNTIMES_ALL).runtime == "executorch"
    assert select_artifact(manifest, board, ("litert",)).runtime == "litert"


def test_boards_list_is_enforced(bundles) -> None:
    manifest = read_manifest(bundles["v1"]).model_copy(update={"boards": ("rpi4", "rpi5")})
    with pytest.raises(IncompatibleBundle, match="for boards rpi4, rpi5; this device is"):
        check_compatible(manifest, load_board("x86-generic"), RUNTIMES_ALL)
    anyboard = read_manifest(bundles["v1"])
    assert check_compatible(anyboard, load_board("x86-generic"), RUNTIMES_ALL)


def test_litert_is_found_installed_here() -> None:
    assert "litert" in available_runtimes()
