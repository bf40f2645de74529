"""Agreement on what the device acts on: matched boxes, the heatmap, saliency probabilities,
and tolerances from a measured spread."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_py.agreement import TileAgreement, check, measure, tolerances
from firmware_py.manifest import CenterNetDecode, SaliencyDecode

SPEC = CenterNetDecode(num_classes=2, score_threshold=0.3)
NAMES = ("heatmap", "size", "offset")


def outputs(peaks: list[tuple[int, int, int, float]], size: float = 6.0,
            offset: float = 0.5) -> list[np.ndarray]:
    """CenterNet outputs on a 16x16 grid with one heatmap peak per (class, y, x, score)."""
    heatmap = np.zeros((1, 2, 16, 16), np.float32)
    for c, y, x, score in peaks:
        heatmap[0, c, y, x] = score
    return [heatmap, np.full((1, 2, 16, 16), size, np.float32),
            np.full((1, 2, 16, 16), offset, np.float32)]


def test_identical_outputs_agree_perfectly() -> None:
    out = outputs([(0, 3, 3, 0.9), (1, 10, 12, 0.6)])
    tile = measure(out, out, NAMES, SPEC)
    assert tile.metrics == {"heatmap_cosine": pytest.approx(1.0), "box_iou": 1.0,
                            "score_diff": 0.0}
    assert tile.matching.unmatched(0.3, 0.0) == 0 and tile.matching.golden_count == 2


def test_a_shifted_box_lowers_the_iou_by_its_overlap() -> None:
    golden = outputs([(0, 3, 3, 0.9)])
    shifted = outputs([(0, 3, 3, 0.85)], offset=0.75)  # 1 px (0.25 cells x stride 4)
    tile = measure(golden, shifted, NAMES, SPEC)
    assert tile.metrics["box_iou"] == pytest.approx(25 / 47)  # 6x6 boxes 1 px apart in x and y
    assert tile.metrics["score_diff"] == pytest.approx(0.05)


def test_classes_must_agree() -> None:
    tile = measure(outputs([(0, 3, 3, 0.9)]), outputs([(1, 3, 3, 0.9)]), NAMES, SPEC)
    assert "box_iou" not in tile.metrics and tile.matching.unmatched(0.3, 0.0) == 2


def test_only_confident_misses_count_as_unmatched() -> None:
    golden = outputs([(0, 3, 3, 0.9), (1, 10, 10, 0.32)])
    got = outputs([(0, 3, 3, 0.9)])  # the 0.32 one fell below the 0.3 threshold
    matching = measure(golden, got, NAMES, SPEC).matching
    assert matching.unmatched(0.3, band=0.05) == 0
    assert matching.unmatched(0.3, band=0.01) == 1


def test_a_partner_just_below_the_threshold_is_matched() -> None:
    tile = measure(outputs([(0, 3, 3, 0.31)]), outputs([(0, 3, 3, 0.29)]), NAMES, SPEC)
    assert tile.metrics["score_diff"] == pytest.approx(0.02)


def test_saliency_compares_probabilities_not_logits() -> None:
    decode = SaliencyDecode(output="saliency", is_logits=True)
    golden = np.full((1, 1, 8, 8), -12.0, np.float32)
    golden[0, 0, 4, 4] = 3.0
    far_below = golden.copy()
    far_below[golden < 0] = -15.0
    assert measure([golden], [far_below], ("saliency",), decode).metrics["prob_diff"] < 1e-5
    flipped = golden.copy()
    flipped[0, 0, 4, 4] = -3.0
    assert measure([golden], [flipped], ("saliency",), decode).metrics["prob_diff"] > 0.9


def test_tolerance_is_the_worst_widened_by_its_distance_from_the_median() -> None:
    tiles = [TileAgreement({"heatmap_cosine": c, "score_diff": d})
             for c, d in ((0.99, 0.01), (0.98, 0.02), (0.95, 0.05))]
    tolerance, quantiles = tolerances(tiles, None)
    assert tolerance == {"heatmap_cosine": pytest.approx(2 * 0.95 - 0.98),
                         "score_diff": pytest.approx(2 * 0.05 - 0.02)}
    assert quantiles["heatmap_cosine"][0] == 0.95 and quantiles["score_diff"][-1] == 0.05


def test_a_golden_tile_without_the_measured_boxes_fails_the_check() -> None:
    golden = outputs([(0, 3, 3, 0.9)])
    lost = outputs([])
    tile = measure(golden, lost, NAMES, SPEC)
    checks = {c.metric: c for c in check(tile, {"box_iou": 0.8, "unmatched": 0.0}, SPEC)}
    assert not checks["box_iou"].passed and not checks["unmatched"].passed
    assert checks["unmatched"].value == 1.0


def test_outputs_of_another_shape_are_an_error() -> None:
    with pytest.raises(ValueError, match="heatmap: shape"):
        measure(outputs([]), [np.zeros((1, 2, 8, 8), np.float32), *outputs([])[1:]], NAMES,
                SPEC)


def test_a_bound_no_value_could_break_is_left_out() -> None:
    tiles = [TileAgreement({"saliency_cosine": c, "prob_diff": d})
             for c, d in ((0.99, 0.3), (0.9, 0.5), (0.5, 0.95))]
    tolerance, quantiles = tolerances(tiles, None)
    assert set(tolerance) == {"saliency_cosine"}  # 0.95 + (0.95 - 0.5) > 1: cannot fail
    assert quantiles["prob_diff"][-1] == 0.95
