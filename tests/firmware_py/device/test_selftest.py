"""The golden self-test in the real LiteRT runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_py.board import load_board
from firmware_py.device.compat import IncompatibleBundle
from firmware_py.device.selftest import SelftestError, selftest
from tests.firmware_py.device.bundles import resign

BOARD = load_board("x86-generic")


def test_golden_outputs_are_reproduced(bundles) -> None:
    result = selftest(bundles["v1"], BOARD)
    assert result.passed
    assert (result.runtime, result.precision) == ("litert", "fp32")
    assert [o.name for o in result.outputs] == ["heatmap", "size", "offset"]
    assert all(o.cosine > 0.9999 for o in result.outputs)


@pytest.mark.parametrize("scale", [1.02, -1.0])
def test_wrong_golden_outputs_fail(bundles, tmp_path: Path, scale: float) -> None:
    def edit(dest: Path) -> None:
        path = dest / "golden" / "output_1.npy"
        np.save(path, np.load(path) * scale)

    bad = resign(bundles["v1"], tmp_path / "bad", bundles["private"], edit)
    result = selftest(bad, BOARD)
    assert not result.passed
    assert [o.passed for o in result.outputs] == [True, False, True]
    assert "size" in result.summary() and "FAIL" in result.summary()


def test_bundle_without_golden_cannot_be_selftested(bundles, tmp_path: Path) -> None:
    bare = resign(bundles["v1"], tmp_path / "bare", bundles["private"], golden=None)
    with pytest.raises(SelftestError, match="no golden"):
        selftest(bare, BOARD)


def test_no_runnable_artifact(bundles) -> None:
    with pytest.raises(IncompatibleBundle, match="nothing it can run"):
        selftest(bundles["v1"], BOARD, runtimes=("executorch",))


def test_unloadable_artifact_is_reported(bundles, tmp_path: Path) -> None:
    def garble(dest: Path) -> None:
        (dest / "tiny_fp32.tflite").write_bytes(b"not a flatbuffer" * 64)

    bad = resign(bundles["v1"], tmp_path / "garbled", bundles["private"], garble)
    with pytest.raises(SelftestError, match="litert could not run it"):
        selftest(bad, BOARD)
