"""The golden self-test in the real LiteRT runtime: what the device acts on (decoded boxes,
the heatmap) against the tolerances the exporter measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_py.board import load_board
from firmware_py.device.compat import IncompatibleBundle
from firmware_py.device.selftest import SelftestError, selftest
from firmware_py.manifest import Manifest
from tests.firmware_py.device.bundles import resign

BOARD = load_board("x86-generic")


def _edit_golden(index: int, change):
    def edit(dest: Path) -> None:
        path = dest / "golden" / f"output_{index}.npy"
        heatmap = np.load(dest / "golden" / "output_0.npy")
        np.save(path, change(np.load(path), heatmap))

    return edit


def test_the_golden_tile_has_objects_and_is_reproduced(bundles) -> None:
    result = selftest(bundles["v1"], BOARD)
    assert result.passed, result.summary()
    assert (result.runtime, result.precision) == ("litert", "fp32")
    assert {c.metric for c in result.checks} == {"heatmap_cosine", "box_iou", "score_diff",
                                                 "unmatched"}
    assert result.detections >= 1
    assert all(c.margin >= 0 for c in result.checks)


@pytest.mark.parametrize(("index", "change", "failing"), [
    (1, lambda size, _: size * 1.5, "box_iou"),            # boxes half as large again
    (2, lambda offset, _: offset + 1.0, "box_iou"),        # every centre one cell off
    (0, lambda heatmap, _: heatmap[:, ::-1].copy(), "heatmap_cosine"),  # classes swapped
])
def test_a_board_that_computes_otherwise_fails(bundles, tmp_path: Path, index, change,
                                               failing) -> None:
    bad = resign(bundles["v1"], tmp_path / "bad", bundles["private"], _edit_golden(index, change))
    result = selftest(bad, BOARD)
    assert not result.passed
    assert failing in result.summary() and "FAIL" in result.summary()


def test_noise_in_the_size_map_away_from_peaks_does_not_fail(bundles, tmp_path: Path) -> None:
    """The false alarm of a tensor-wide check: sizes on empty cells are never read."""
    def noise_off_peaks(size: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
        padded = np.pad(heatmap, [(0, 0), (0, 0), (1, 1), (1, 1)], constant_values=-np.inf)
        h, w = heatmap.shape[2:]
        window = np.max([padded[:, :, dy:dy + h, dx:dx + w] for dy in range(3)
                         for dx in range(3)], axis=0)
        empty = ~(heatmap >= window).any(axis=1, keepdims=True)  # no class peaks there
        rng = np.random.default_rng(0)
        return np.where(empty, size + rng.normal(0, 5, size.shape), size).astype(np.float32)

    edited = resign(bundles["v1"], tmp_path / "noisy", bundles["private"],
                    _edit_golden(1, noise_off_peaks))
    assert (np.load(edited / "golden" / "output_1.npy") != np.load(
        bundles["v1"] / "golden" / "output_1.npy")).any()
    result = selftest(edited, BOARD)
    assert result.passed, result.summary()


def test_bundle_without_golden_cannot_be_selftested(bundles, tmp_path: Path) -> None:
    bare = resign(bundles["v1"], tmp_path / "bare", bundles["private"], golden=None)
    with pytest.raises(SelftestError, match="no golden"):
        selftest(bare, BOARD)


def test_a_schema_1_bundle_asks_to_be_re_exported(bundles, tmp_path: Path) -> None:
    manifest = Manifest.model_validate_json((bundles["v1"] / "manifest.json").read_bytes())
    old = tuple(a.model_copy(update={"agreement": None}) for a in manifest.artifacts)
    bundle = resign(bundles["v1"], tmp_path / "old", bundles["private"], schema_version=1,
                    artifacts=old)
    with pytest.raises(SelftestError, match="no agreement tolerances.*re-export"):
        selftest(bundle, BOARD)


def test_no_runnable_artifact(bundles) -> None:
    with pytest.raises(IncompatibleBundle, match="nothing it can run"):
        selftest(bundles["v1"], BOARD, runtimes=("executorch",))


def test_unloadable_artifact_is_reported(bundles, tmp_path: Path) -> None:
    def garble(dest: Path) -> None:
        (dest / "tiny_fp32.tflite").write_bytes(b"not a flatbuffer" * 64)

    bad = resign(bundles["v1"], tmp_path / "garbled", bundles["private"], garble)
    with pytest.raises(SelftestError, match="litert could not run it"):
        selftest(bad, BOARD)
