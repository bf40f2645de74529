"""NMS and greedy NMM against brute-force references (pure Python, and the K x K overlap-matrix
form the grid version replaced), plus the properties they must keep."""

import ast
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import firmware_py.boxgrid
import firmware_py.nms
from firmware_py.boxgrid import cross_pairs, overlapping_pairs
from firmware_py.nms import (
    ALL_PAIRS,
    greedy_nmm,
    max_overlap,
    merge_groups,
    merge_nmm,
    nms,
    pairwise_overlap,
)


def _overlap(a: list[float], b: list[float], metric: str) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    denom = area_a + area_b - inter if metric == "iou" else min(area_a, area_b)
    return inter / denom if denom > 0 else 0.0


def _order(scores: list[float]) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: -scores[i])  # sorted() is stable


def _brute_nms(boxes, scores, labels, threshold, metric) -> list[int]:
    kept: list[int] = []
    for i in _order(scores):
        if all(labels[k] != labels[i] or _overlap(boxes[k], boxes[i], metric) <= threshold
               for k in kept):
            kept.append(i)
    return kept


def _brute_groups(boxes, scores, labels, threshold, metric) -> dict[int, list[int]]:
    pool, groups = _order(scores), {}
    while pool:
        head, rest = pool[0], pool[1:]
        members = [j for j in rest if labels[j] == labels[head]
                   and _overlap(boxes[head], boxes[j], metric) > threshold]
        groups[head] = members
        pool = [j for j in rest if j not in members]
    return groups


def _matrix_matches(boxes, scores, labels, threshold, metric):
    """The K x K form: descending-score order and the match matrix in it."""
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    ranked = np.asarray(boxes).reshape(-1, 4)[order]
    match = pairwise_overlap(ranked, ranked, metric) > threshold  # (K, K)
    if labels is not None:
        ranked_labels = np.asarray(labels)[order]
        match &= ranked_labels[:, None] == ranked_labels[None, :]
    return order, match


def _matrix_nms(boxes, scores, labels, threshold, metric) -> list[int]:
    order, match = _matrix_matches(boxes, scores, labels, threshold, metric)
    alive = np.ones(len(order), dtype=bool)
    for i in range(len(order)):
        if alive[i]:
            alive[i + 1:] &= ~match[i, i + 1:]
    return order[alive].tolist()


def _matrix_groups(boxes, scores, labels, threshold, metric) -> dict[int, list[int]]:
    order, match = _matrix_matches(boxes, scores, labels, threshold, metric)
    alive = np.ones(len(order), dtype=bool)
    groups = {}
    for i in range(len(order)):
        if alive[i]:
            members = np.flatnonzero(alive & match[i])
            members = members[members > i]
            alive[members] = alive[i] = False
            groups[int(order[i])] = [int(j) for j in order[members]]
    return groups


def _random_frame(seed: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` boxes as a merge sees them: clusters of near-duplicates of small objects and
    isolated boxes over a wide frame, some sticking out of it, sizes from 0 to ~200 px, scores
    with ties, 4 classes."""
    rng = np.random.default_rng(seed)
    width = rng.choice([60, 800, 4000])
    centres = rng.uniform(-20, width, (max(1, count // 4), 2))
    xy = centres[rng.integers(0, len(centres), count)] + rng.normal(0, 3, (count, 2))
    wh = rng.exponential(rng.choice([4, 12, 40]), (count, 2))
    if seed % 3 == 0:  # whole pixels: exact ties of overlap and touching edges
        xy, wh = np.round(xy), np.round(wh)
    scores = rng.random(count) if seed % 2 else np.round(rng.random(count), 1)
    return (np.concatenate([xy, xy + wh], axis=1).astype(np.float32), scores.astype(np.float32),
            rng.integers(0, 4, count))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("metric", ["iou", "ios"])
def test_nms_and_nmm_equal_the_matrix_form_on_random_frames(seed: int, metric: str) -> None:
    count = [0, 1, 2, ALL_PAIRS, ALL_PAIRS + 1, 300, 1200][seed % 7]
    boxes, scores, labels = _random_frame(seed, count)
    for threshold in (0.0, 0.3, 0.5, 0.9, 1.0):
        for lab in (labels, None):
            assert nms(boxes, scores, lab, threshold, metric).tolist() == _matrix_nms(
                boxes, scores, lab, threshold, metric)
            assert greedy_nmm(boxes, scores, lab, threshold, metric) == _matrix_groups(
                boxes, scores, lab, threshold, metric)


@pytest.mark.parametrize("seed", range(6))
def test_merge_groups_equals_merging_member_by_member(seed: int) -> None:
    boxes, scores, labels = _random_frame(seed, 600)
    for threshold, metric in ((0.1, "ios"), (0.5, "iou")):
        groups = greedy_nmm(boxes, scores, None, threshold, metric)
        want = []
        for keep, members in groups.items():  # SAHI's order: re-check against the grown box
            merged = boxes[keep].copy()
            for j in members:
                if pairwise_overlap(merged, boxes[j], metric)[0, 0] > threshold:
                    merged = np.r_[np.minimum(merged[:2], boxes[j, :2]),
                                   np.maximum(merged[2:], boxes[j, 2:])]
            want.append(merged)
        got = merge_groups(boxes, groups, threshold, metric)
        np.testing.assert_array_equal(got, np.array(want, np.float32).reshape(-1, 4))


@pytest.mark.parametrize("seed", range(6))
def test_overlapping_pairs_are_exactly_the_intersecting_ones(seed: int) -> None:
    boxes, _, _ = _random_frame(seed, 400)
    boxes[::17] = boxes[::17, [0, 1, 0, 1]]  # some of zero area
    i, j = overlapping_pairs(boxes)
    found = sorted(zip(i.tolist(), j.tolist(), strict=True))
    inter = pairwise_overlap(boxes, boxes, "ios") > 0  # positive intersection
    want = [(a, b) for a, b in zip(*np.nonzero(np.triu(inter, 1)), strict=True)]
    assert found == want  # each pair once, i < j


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("metric", ["iou", "ios"])
def test_max_overlap_and_cross_pairs_equal_the_matrix_form(seed: int, metric: str) -> None:
    boxes, _, _ = _random_frame(seed, 500)
    a, b = boxes[:300], boxes[300:]
    matrix = pairwise_overlap(a, b, metric)
    np.testing.assert_array_equal(max_overlap(a, b, metric), matrix.max(axis=1))
    ia, ib = cross_pairs(a, b)
    inter = pairwise_overlap(a, b, "ios") > 0
    assert sorted(zip(ia.tolist(), ib.tolist(), strict=True)) == \
        [(i, j) for i, j in zip(*np.nonzero(inter), strict=True)]
    assert max_overlap(a, b[:0]).tolist() == [0.0] * len(a) and len(max_overlap(a[:0], b)) == 0


def test_a_long_chain_of_matches_is_resolved_greedily() -> None:
    # each box overlaps the next one at IoU 0.6, scores falling: keep every other one
    boxes = np.array([[4 * k, 0, 4 * k + 16, 10] for k in range(200)], np.float32)
    scores = np.linspace(1, 0.1, 200, dtype=np.float32)
    assert nms(boxes, scores, None, 0.5).tolist() == _matrix_nms(boxes, scores, None, 0.5, "iou")


@st.composite
def detections(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes on a coarse grid (so overlaps, exact ties and touching edges are common)."""
    k = draw(st.integers(0, 25))
    coords = st.integers(0, 12)
    boxes = []
    for _ in range(k):
        x0, y0 = draw(coords), draw(coords)
        boxes.append([x0, y0, x0 + draw(st.integers(0, 8)), y0 + draw(st.integers(0, 8))])
    scores = [draw(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9])) for _ in range(k)]
    labels = [draw(st.integers(0, 2)) for _ in range(k)]
    return (np.array(boxes, dtype=np.float32).reshape(-1, 4), np.array(scores, np.float32),
            np.array(labels, np.int64))


@settings(max_examples=150, deadline=None)
@given(detections(), st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]), st.sampled_from(["iou", "ios"]))
def test_nms_matches_brute_force(dets, threshold: float, metric: str) -> None:
    boxes, scores, labels = dets
    keep = nms(boxes, scores, labels, threshold, metric)
    assert keep.tolist() == _brute_nms(boxes.tolist(), scores.tolist(), labels.tolist(),
                                       threshold, metric)


@settings(max_examples=150, deadline=None)
@given(detections(), st.sampled_from([0.0, 0.3, 0.5, 0.9]), st.sampled_from(["iou", "ios"]))
def test_greedy_nmm_groups_match_brute_force(dets, threshold: float, metric: str) -> None:
    boxes, scores, labels = dets
    groups = greedy_nmm(boxes, scores, labels, threshold, metric)
    assert groups == _brute_groups(boxes.tolist(), scores.tolist(), labels.tolist(), threshold,
                                   metric)


@settings(max_examples=100, deadline=None)
@given(detections(), st.sampled_from([0.0, 0.3, 0.5, 0.9]))
def test_merge_nmm_properties(dets, threshold: float) -> None:
    boxes, scores, labels = dets
    merged, m_scores, m_labels = merge_nmm(boxes, scores, labels, threshold, "ios")
    groups = greedy_nmm(boxes, scores, labels, threshold, "ios")
    assert len(merged) == len(groups)
    assert np.all(np.diff(m_scores) <= 0)
    for row, keep in enumerate(groups):
        lo, hi = merged[row, :2], merged[row, 2:]
        assert np.all(lo <= boxes[keep, :2]) and np.all(hi >= boxes[keep, 2:])  # encloses
        assert m_scores[row] == scores[keep] and m_labels[row] == labels[keep]


def test_overlap_values() -> None:
    a, b = np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2], [5, 5, 5, 9]])
    np.testing.assert_allclose(pairwise_overlap(a, b, "iou"), [[1 / 3, 0.0]])
    np.testing.assert_allclose(pairwise_overlap(a, b, "ios"), [[0.5, 0.0]])
    with pytest.raises(ValueError, match="metric"):
        pairwise_overlap(a, b, "giou")


def test_ios_suppresses_a_nested_box_that_iou_keeps() -> None:
    boxes = np.array([[0, 0, 20, 20], [2, 2, 6, 6]], np.float32)  # IoU 0.04, IoS 1
    scores, labels = np.array([0.9, 0.8]), np.array([0, 0])
    assert nms(boxes, scores, labels, 0.5, "iou").tolist() == [0, 1]
    assert nms(boxes, scores, labels, 0.5, "ios").tolist() == [0]


def test_nms_is_class_wise_and_threshold_one_is_off() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 0, 10, 10]], np.float32)
    scores = np.array([0.5, 0.9, 0.7])
    assert nms(boxes, scores, np.array([0, 1, 0]), 0.5).tolist() == [1, 2]  # 0 loses to 2
    assert nms(boxes, scores, None, 0.5).tolist() == [1]  # class-agnostic
    assert nms(boxes, scores, np.array([0, 0, 0]), 1.0).tolist() == [1, 2, 0]


def test_merge_nmm_joins_a_box_cut_by_a_tile_edge() -> None:
    # one object seen as two partial boxes either side of a tile edge at x = 100
    boxes = np.array([[90, 40, 100, 50], [98, 41, 106, 49], [0, 0, 5, 5]], np.float32)
    scores, labels = np.array([0.6, 0.8, 0.7]), np.array([2, 1, 2])
    merged, m_scores, m_labels = merge_nmm(boxes, scores, labels, 0.1, "ios",
                                           class_agnostic=True)
    np.testing.assert_array_equal(merged, [[90, 40, 106, 50], [0, 0, 5, 5]])
    assert m_scores.tolist() == pytest.approx([0.8, 0.7]) and m_labels.tolist() == [1, 2]
    per_class, _, _ = merge_nmm(boxes, scores, labels, 0.1, "ios")
    assert len(per_class) == 3  # different classes never merge class-wise


def test_merge_nmm_drops_a_member_that_no_longer_matches_the_grown_box() -> None:
    # SAHI re-checks each member against the box merged so far
    boxes = np.array([[0, 0, 10, 10], [0, 5, 10, 15], [5, 0, 15, 10]], np.float32)
    scores, labels = np.array([0.9, 0.8, 0.7]), np.zeros(3, np.int64)
    assert greedy_nmm(boxes, scores, labels, 0.3, "iou") == {0: [1, 2]}  # IoU 1/3 each
    merged, _, _ = merge_nmm(boxes, scores, labels, 0.3, "iou")
    np.testing.assert_array_equal(merged, [[0, 0, 10, 15]])  # grown box: IoU 0.25 with #2


@pytest.mark.parametrize("module", [firmware_py.nms, firmware_py.boxgrid])
def test_imports_only_numpy_and_stdlib(module) -> None:
    tree = ast.parse(Path(module.__file__).read_text())
    roots = {alias.name for node in ast.walk(tree)
             if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    assert {r.split(".")[0] for r in roots - {"firmware_py.boxgrid"}} <= {"numpy"} | set(
        sys.stdlib_module_names)
