"""Tracker: stable ids through gaps and crossings, ByteTrack's two stages, track life, and
the carried predictions (against known synthetic trajectories)."""

import numpy as np
import pytest
from pydantic import ValidationError

from firmware_py.nms import pairwise_overlap
from firmware_py.sparse.tracks import Tracker, TrackerConfig, buffered, greedy_pairs, inside_any

EVERYWHERE = None  # the whole frame ran


def box(cx: float, cy: float, side: float = 6.0) -> list[float]:
    return [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]


def run(tracker: Tracker, frame: int, boxes: list[list[float]], scores: list[float] | None = None,
        windows: np.ndarray | None = EVERYWHERE) -> np.ndarray:
    scores = [0.8] * len(boxes) if scores is None else scores
    return tracker.update(frame, np.array(boxes, np.float32).reshape(-1, 4), np.array(scores),
                          np.zeros(len(boxes), np.int64), windows)


def test_two_tiny_fast_objects_keep_their_ids_over_gaps() -> None:
    # 6 px objects at 4 px/frame, seen on two frames in a row (a new track's tile runs every
    # frame until its velocity is known), then on every 3rd frame only: no plain IoU between
    # sightings
    tracker, ids = Tracker(), []
    for frame in [0, 1, *range(4, 30, 3)]:
        a, b = box(20 + 4 * frame, 50), box(400 - 4 * frame, 120)
        ids.append(run(tracker, frame, [a, b]).tolist())
    assert all(pair == ids[0] for pair in ids) and ids[0][0] != ids[0][1]
    np.testing.assert_allclose(tracker.velocity, [[4, 0], [-4, 0]], atol=1e-6)


def test_crossing_objects_keep_their_ids() -> None:
    tracker, ids = Tracker(), []
    for frame in range(12):  # two objects crossing on one row, 3 px/frame each way
        ids.append(run(tracker, frame, [box(100 + 3 * frame, 50, 8), box(133 - 3 * frame, 50, 8)],
                       [0.9, 0.7]).tolist())
    assert all(pair == ids[0] for pair in ids)


def test_the_high_score_detection_takes_the_track_first() -> None:
    tracker = Tracker(TrackerConfig(high_score=0.5))
    first = run(tracker, 0, [box(50, 50, 10)])
    # a weak detection nearer the track, a strong one a little further: the strong one wins
    second = run(tracker, 1, [box(50, 50, 10), box(52, 50, 10)], [0.35, 0.9])
    assert second[1] == first[0] and second[0] != first[0]


def test_a_one_frame_false_positive_dies_where_it_could_be_seen_again() -> None:
    tracker = Tracker()
    run(tracker, 0, [box(50, 50), box(500, 300)])
    run(tracker, 1, [box(50, 50)])  # both visible, the second unmatched: seen once, dropped
    assert len(tracker) == 1
    run(tracker, 2, [box(50, 50)])
    run(tracker, 3, [])  # the confirmed one is kept while missed...
    assert len(tracker) == 1 and tracker.misses.tolist() == [1]


def test_tracks_outside_the_tiles_run_are_not_missed_and_expire_after_max_lost() -> None:
    tracker = Tracker(TrackerConfig(max_lost=5))
    run(tracker, 0, [box(50, 50), box(500, 300)])
    far_tile = np.array([[0, 0, 200, 200]])  # sees the first only
    run(tracker, 1, [box(50, 50)], windows=far_tile)
    assert len(tracker) == 2 and tracker.misses.tolist() == [0, 0]
    for frame in range(2, 8):
        run(tracker, frame, [box(50, 50)], windows=far_tile)
    assert len(tracker) == 1  # unseen for 6 > 5 frames


def test_carried_tracks_follow_their_velocity_and_decay() -> None:
    tracker = Tracker()
    for frame in range(4):  # 20 px object at 3 px/frame
        run(tracker, frame, [box(100 + 3 * frame, 100, 20)])
    empty = np.zeros((0, 4))
    for frame in range(4, 7):  # its tile no longer runs
        run(tracker, frame, [], windows=np.array([[600, 0, 920, 320]]))
        out = tracker.carried(frame, empty, decay=0.9, max_age=10, min_score=0.0, overlap=0.5)
        truth = np.array([box(100 + 3 * frame, 100, 20)])
        assert pairwise_overlap(out.boxes, truth)[0, 0] > 0.95
        assert out.scores[0] == pytest.approx(0.8 * 0.9 ** (frame - 3))
    assert tracker.carried(6, empty, 0.9, max_age=2, min_score=0.0, overlap=0.5).ids.size == 0
    assert tracker.carried(6, empty, 0.9, 10, min_score=0.6, overlap=0.5).ids.size == 0
    fresh = np.array(box(100 + 3 * 6, 100, 20))[None]
    assert tracker.carried(6, fresh, 0.9, 10, 0.0, overlap=0.5).ids.size == 0  # under a fresh


def test_a_track_missed_where_a_tile_ran_is_not_carried() -> None:
    tracker = Tracker()
    run(tracker, 0, [box(50, 50)])
    run(tracker, 1, [box(50, 50)])
    run(tracker, 2, [], windows=np.array([[0, 0, 320, 320]]))  # ran there, found nothing
    assert tracker.carried(2, np.zeros((0, 4)), 0.9, 10, 0.0, 0.5).ids.size == 0


def test_prediction_error_is_learnt_from_the_third_sighting() -> None:
    tracker = Tracker()
    run(tracker, 0, [box(10, 10)])
    run(tracker, 1, [box(13, 10)])
    assert np.isnan(tracker.error).all()  # two sightings: velocity only
    run(tracker, 3, [box(19, 10)])  # on the line: no error
    assert tracker.error[0] == pytest.approx(0.0)
    run(tracker, 5, [box(29, 10)])  # 4 px off after 2 frames: 2 px per frame
    assert tracker.error[0] == pytest.approx(1.0)  # EMA with weight 0.5


def test_ids_are_never_reused() -> None:
    tracker = Tracker(TrackerConfig(max_lost=0))
    first = run(tracker, 0, [box(10, 10)])
    run(tracker, 1, [])
    run(tracker, 2, [])
    assert run(tracker, 3, [box(10, 10)])[0] > first[0]


def test_helpers() -> None:
    np.testing.assert_allclose(buffered([[10, 10, 14, 30]], 0.5, 3.0), [[7, 0, 17, 40]])
    rows, cols = greedy_pairs(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]),
                              np.array([0.9, 0.8, 0.85, 0.1]), 0.2)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 0)]  # 1-1 only 0.1
    assert inside_any(np.array([[1, 1, 5, 5], [8, 8, 12, 12]]), np.array([[0, 0, 10, 10]])
                      ).tolist() == [True, False]
    with pytest.raises(ValidationError):
        TrackerConfig(alpha=0.0)


def test_the_view_moves_only_where_it_was_compared() -> None:
    tracker, still = Tracker(), np.array([box(540, 100)], np.float32)
    labels, score = np.zeros(1, np.int64), np.array([0.8])
    tracker.update(0, still, score, labels, tiles=np.array([2]), ran=np.array([1, 2]))
    assert tracker.view.tolist() == [2]  # born with the tile that found it
    tracker.update(1, still, score, labels, tiles=np.array([1]), ran=np.array([1]))
    assert tracker.view.tolist() == [2]  # its view did not run: a worse view does not take over
    tracker.update(2, still, score, labels, tiles=np.array([1]), ran=np.array([1, 2]))
    assert tracker.view.tolist() == [1]  # both ran and the merge kept tile 1's copy
    tracker.update(3, still, score, labels, tiles=np.array([2]))
    assert tracker.view.tolist() == [2]  # the whole frame ran


class DenseTracker(Tracker):
    """The association as a full ``(K, T)`` IoU matrix with a greedy visit of all of it: what
    :meth:`Tracker._associate` computes from the touching pairs only."""

    def _associate(self, predicted, boxes, scores):
        cfg = self.config
        match = np.full(len(boxes), -1, np.int64)
        if not len(boxes) or not len(predicted):
            return match
        iou = pairwise_overlap(buffered(boxes, cfg.buffer, cfg.buffer_px),
                               buffered(predicted, cfg.buffer, cfg.buffer_px))
        free = np.ones(len(predicted), bool)
        for stage in (scores >= cfg.high_score, scores < cfg.high_score):
            dets, tracks = np.flatnonzero(stage), np.flatnonzero(free)
            sub = iou[np.ix_(dets, tracks)]
            r, c = np.nonzero(np.ones_like(sub, bool))
            rows, cols = greedy_pairs(r, c, sub[r, c], cfg.min_overlap)
            match[dets[rows]] = tracks[cols]
            free[tracks[cols]] = False
        return match


@pytest.mark.parametrize("seed", range(4))
def test_association_from_touching_pairs_equals_the_full_matrix(seed: int) -> None:
    # a flood: hundreds of boxes a frame, most jittering in place, some fresh each frame
    rng = np.random.default_rng(seed)
    spots = rng.uniform(0, 1900, (300, 2))
    grid, dense = Tracker(), DenseTracker()
    for frame in range(12):
        k = int(rng.integers(150, 300))
        centre = spots[rng.choice(len(spots), k, replace=False)] + rng.normal(0, 2, (k, 2))
        side = rng.uniform(3, 25, (k, 1)).round() if seed % 2 else rng.uniform(3, 25, (k, 1))
        boxes = np.concatenate([centre - side / 2, centre + side / 2], axis=1)
        scores = np.round(rng.random(k), 1)  # ties
        labels = np.zeros(k, np.int64)
        np.testing.assert_array_equal(grid.update(frame, boxes, scores, labels),
                                      dense.update(frame, boxes, scores, labels))
