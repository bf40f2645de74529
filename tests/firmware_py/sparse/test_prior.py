import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from firmware_py.sparse.carry import CarryConfig
from firmware_py.sparse.motion import box_blur
from firmware_py.sparse.prior import (
    PriorConfig,
    TilePrior,
    detection_scores,
    fuse,
    map_windows,
    other_views,
    pool_map,
    track_need,
)
from firmware_py.sparse.tracks import Tracker
from firmware_py.tiling import TileGrid

# 5 x 4 tiles of 160 px overlapping by 32 px over a 640 x 480 frame; lores is 160 x 120.
GRID = TileGrid(640, 480, 160, 160, overlap=32)
LORES_SCALE = 4
ONLY_MOTION = PriorConfig(saliency_weight=0.0, detection_weight=0.0, motion_weight=1.0)


def touched(rect: tuple[float, float, float, float]) -> set[int]:
    """Tiles whose window intersects the frame-pixel rectangle ``rect`` (xyxy)."""
    x0, y0, x1, y1 = rect
    w = GRID.windows
    hit = (w[:, 0] < x1) & (w[:, 2] > x0) & (w[:, 1] < y1) & (w[:, 3] > y0)
    return set(np.flatnonzero(hit).tolist())


def lores_with_square(x: int, y: int, rng: np.random.Generator, rgb: bool = True
                      ) -> np.ndarray:
    texture = np.random.default_rng(0).integers(40, 100, (120, 160))  # the static scene
    grey = texture + rng.integers(-4, 5, texture.shape)  # sensor noise
    grey[y:y + 6, x:x + 6] = 220
    grey = grey.astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2) if rgb else grey


def test_a_moving_square_lights_exactly_the_tiles_it_overlaps() -> None:
    prior, rng = TilePrior(GRID, ONLY_MOTION), np.random.default_rng(1)
    base = ONLY_MOTION.base
    first = prior(lores=lores_with_square(62, 28, rng))
    np.testing.assert_allclose(first, base)  # first frame: no motion
    previous = (62, 28)
    for x, y in [(65, 30), (68, 32)]:
        p = prior(lores=lores_with_square(x, y, rng))
        # The difference covers the square's old and new places (lores -> frame pixels).
        union = (min(x, previous[0]), min(y, previous[1]), max(x, previous[0]) + 6,
                 max(y, previous[1]) + 6)
        rect = tuple(v * LORES_SCALE for v in union)
        expected = touched(rect)
        grown = (rect[0] - 8, rect[1] - 8, rect[2] + 8, rect[3] + 8)
        assert touched(grown) == expected  # the square is clear of other tiles' edges
        assert len(expected) == 4
        assert set(np.flatnonzero(p > base + 1e-9).tolist()) == expected
        np.testing.assert_allclose(p[list(expected)], 1.0)
        previous = (x, y)


def test_sensor_noise_alone_is_not_motion_and_luma_equals_rgb() -> None:
    rng = np.random.default_rng(2)
    rgb, luma = TilePrior(GRID, ONLY_MOTION), TilePrior(GRID, ONLY_MOTION)
    for x in (50, 50, 53):
        p_rgb = rgb(lores=lores_with_square(x, 50, np.random.default_rng(x)))
        p_luma = luma(lores=lores_with_square(x, 50, np.random.default_rng(x), rgb=False))
        np.testing.assert_allclose(p_rgb, p_luma)
    still = TilePrior(GRID, ONLY_MOTION)
    still(lores=lores_with_square(50, 50, rng))
    np.testing.assert_allclose(still(lores=lores_with_square(50, 50, rng)), ONLY_MOTION.base)


def test_a_lores_size_change_resets_motion() -> None:
    prior, rng = TilePrior(GRID, ONLY_MOTION), np.random.default_rng(3)
    prior(lores=lores_with_square(10, 10, rng))
    np.testing.assert_allclose(prior(lores=np.zeros((60, 80), np.uint8)), ONLY_MOTION.base)


def test_a_saliency_blob_lights_its_tiles() -> None:
    cfg = PriorConfig(saliency_weight=0.8, region="window")
    saliency = np.zeros((60, 80), np.float32)  # 8 frame px per map px
    saliency[10:14, 30:34] = 1.0  # frame x 240..272 (the overlap of columns 1 and 2), y 80..112
    p = TilePrior(GRID, cfg)(saliency=saliency[None, None])
    expected = touched((240, 80, 272, 112))
    assert expected == {1, 2}
    lit = np.flatnonzero(p > cfg.base + 1e-9)
    assert set(lit.tolist()) == expected
    np.testing.assert_allclose(p[lit], 1 - (1 - cfg.base) * (1 - 0.8))
    mean = TilePrior(GRID, PriorConfig(saliency_weight=0.8, saliency_pool="mean",
                                       region="window"))(saliency=saliency)
    assert set(np.flatnonzero(mean > cfg.base + 1e-9).tolist()) == expected
    assert np.all(mean[lit] < p[lit])  # the mean dilutes a small object over the tile
    # cores: columns 1 and 2 overlap on x 256..288, cut at 272; the blob is left of the cut
    core = TilePrior(GRID, PriorConfig(saliency_weight=0.8))(saliency=saliency)
    assert np.flatnonzero(core > cfg.base + 1e-9).tolist() == [1]
    saliency[10:14, 34:36] = 1.0  # now x 240..288: across the cut
    core = TilePrior(GRID, PriorConfig(saliency_weight=0.8))(saliency=saliency)
    assert np.flatnonzero(core > cfg.base + 1e-9).tolist() == [1, 2]


def test_last_detections_boost_the_tiles_holding_their_centres() -> None:
    boxes = np.array([[290, 90, 310, 110],  # centre (300, 100): column 2, row 0 only
                      [260, 130, 280, 150],  # centre (270, 140): columns 1-2, rows 0-1
                      [295, 95, 305, 105]])  # centre (300, 100) again, lower score
    scores = np.array([0.6, 0.5, 0.3])
    s = detection_scores(GRID, boxes, scores)
    expected = np.zeros(len(GRID))
    expected[[1, 6, 7]] = 0.5
    expected[2] = 0.6
    np.testing.assert_allclose(s, expected)
    # in cores (cut at x 144, 272, ... and y 144, ...), each centre lights one tile
    core = np.zeros(len(GRID))
    core[1], core[2] = 0.5, 0.6  # (270, 140): column 1, row 0; (300, 100): column 2, row 0
    np.testing.assert_allclose(detection_scores(GRID, boxes, scores, "core"), core)
    cfg = PriorConfig(region="window")
    p = TilePrior(GRID, cfg)(boxes=boxes, scores=scores)
    np.testing.assert_allclose(p, 1 - (1 - cfg.base) * (1 - cfg.detection_weight * expected))
    np.testing.assert_allclose(detection_scores(GRID, np.zeros((0, 4)), np.zeros(0)), 0.0)
    credited = np.zeros(len(GRID))
    credited[2], credited[7] = 0.6, 0.5  # given tiles win over regions; the best per tile
    np.testing.assert_allclose(detection_scores(GRID, boxes, scores, "core", [2, 7, 7]),
                               credited)


def test_noisy_or_value() -> None:
    np.testing.assert_allclose(fuse(np.array([[0.5], [0.5]]), np.array([1.0, 1.0]), 0.0), 0.75)
    np.testing.assert_allclose(fuse(np.array([[1.0], [0.0]]), np.array([0.6, 1.0]), 0.5), 0.8)


unit = st.floats(0.0, 1.0)


@settings(max_examples=50, deadline=None)
@given(cues=arrays(np.float64, (3, 7), elements=st.floats(-0.5, 1.5)),
       weights=arrays(np.float64, 3, elements=unit), base=st.floats(1e-6, 1.0),
       bump=st.floats(0.0, 1.0))
def test_fusion_stays_in_bounds_and_is_monotone(cues: np.ndarray, weights: np.ndarray,
                                                base: float, bump: float) -> None:
    p = fuse(cues, weights, base)
    assert np.all(p >= base - 1e-12) and np.all(p <= 1.0)
    more = cues.copy()
    more[0] += bump
    assert np.all(fuse(more, weights, base) >= p - 1e-12)


def test_prior_without_cues_is_the_base_and_stays_in_bounds() -> None:
    cfg = PriorConfig(base=0.1)
    prior = TilePrior(GRID, cfg)
    np.testing.assert_allclose(prior(), 0.1)
    p = prior(saliency=np.full((30, 40), 7.0), boxes=np.array([[0, 0, 8, 8]]),
              scores=np.array([1.0]))  # out-of-range saliency is clipped
    assert np.all((p >= 0.1) & (p <= 1.0))


def test_map_windows_are_inside_the_map_and_never_empty() -> None:
    for h, w in [(3, 4), (120, 160), (1, 1), (500, 700)]:
        win = map_windows(GRID, h, w)
        assert np.all(win[:, :2] >= 0) and np.all(win[:, 2] <= w) and np.all(win[:, 3] <= h)
        assert np.all(win[:, 2:] > win[:, :2])
    full = map_windows(GRID, 480, 640)  # the frame's own resolution: the windows themselves
    np.testing.assert_array_equal(full, GRID.windows)


def test_pool_map_and_box_blur() -> None:
    values = np.zeros((480, 640))
    values[0, 639] = 1.0
    np.testing.assert_array_equal(np.flatnonzero(pool_map(values, GRID)), [4])
    with pytest.raises(ValueError):
        pool_map(np.zeros((2, 3, 4)), GRID)
    image = np.zeros((5, 6))
    image[2, 3] = 9.0
    blurred = box_blur(image, 3)
    assert blurred.sum() == pytest.approx(9.0)
    np.testing.assert_allclose(blurred[1:4, 2:5], 1.0)


def test_config_is_strict() -> None:
    with pytest.raises(ValidationError):
        PriorConfig(motion_weight=1.5)
    with pytest.raises(ValidationError):
        PriorConfig(weights=[1, 1, 1])
    with pytest.raises(ValidationError):
        PriorConfig(saliency_pool="median")


def test_motion_a_track_explains_lights_no_tile() -> None:
    prior, rng = TilePrior(GRID, ONLY_MOTION), np.random.default_rng(1)
    prior(lores=lores_with_square(62, 28, rng))
    moved = lores_with_square(65, 30, rng)
    track = np.array([[62 * 4, 28 * 4, 71 * 4, 36 * 4]])  # the square's old and new place
    np.testing.assert_allclose(prior(lores=moved, explained=track), ONLY_MOTION.base)


def test_tracks_need_a_run_only_when_the_carry_cannot_hold_them() -> None:
    tracker = Tracker()
    still = np.array([[100, 100, 110, 110]], np.float32)
    for frame in (0, 1, 2):
        tracker.update(frame, still, np.array([0.9]), np.array([0]))
    cfg, carry = PriorConfig(refresh_frames=5, track_misses=2), CarryConfig(decay=0.9,
                                                                            max_age=20)
    # seen at frame 2, predicted exactly: no need until 5 frames unseen
    assert [track_need(tracker, f, cfg, carry, 0.3)[1][0] for f in (3, 6, 7)] == [0, 0, 1]
    # a low score fades under the reporting threshold sooner
    assert track_need(tracker, 4, cfg, carry, 0.8)[1][0] == 1  # 0.9 * 0.81 < 0.8
    fresh = Tracker()
    fresh.update(0, still, np.array([0.9]), np.array([0]))
    assert track_need(fresh, 1, cfg, carry, 0.3)[1][0] == 1  # seen once: velocity unknown
    tracker.update(3, np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    tracker.update(4, np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    boxes, need, explained = track_need(tracker, 8, cfg, carry, 0.3)
    assert need[0] == 0 and len(explained) == 0  # missed twice where a tile ran: let go
    np.testing.assert_allclose(boxes, still)


def test_a_fast_track_needs_its_tile_every_frame_and_explains_its_trail() -> None:
    tracker = Tracker()
    for frame in range(4):  # 10 px object at 5 px/frame, then 3 px off its prediction
        x = 100 + 5 * frame + (3.0 if frame == 3 else 0.0)
        tracker.update(frame, np.array([[x, 100, x + 10, 110]]), np.array([0.9]),
                       np.array([0]))
    _, need, explained = track_need(tracker, 4, PriorConfig(), CarryConfig(), 0.3)
    assert need[0] == 1
    assert explained[0, 0] < explained[0, 2] - 14  # spans the box now and a frame ago


def test_a_still_track_hovering_under_the_threshold_offers_its_other_views() -> None:
    box = np.array([[132, 132, 140, 140]], np.float32)  # inside the windows of tiles 0, 1, 5, 6

    def tracked(scores: list[float], speed: float = 0.0) -> Tracker:
        tracker = Tracker()
        for frame, score in enumerate(scores):
            tracker.update(frame, box + [speed * frame, 0, speed * frame, 0],
                           np.array([score]), np.array([0]))
        return tracker

    cfg, report, need = PriorConfig(), 0.5, np.ones(1)
    hovering = tracked([0.6, 0.55, 0.45])  # reported, still, now under the threshold
    boxes, scores, tiles = other_views(hovering, GRID, hovering.predict(3), need, cfg, report)
    assert sorted(tiles.tolist()) == [0, 1, 5, 6]
    np.testing.assert_allclose(scores, cfg.other_views)
    p = TilePrior(GRID, cfg)(boxes=boxes, scores=scores, tiles=tiles)
    assert p.max() < 0.5  # under the profiles' sampler level: drawn by exploration, not lit
    for tracker, needs, config in [(tracked([0.45] * 3), need, cfg),  # never reported
                                   (tracked([0.6, 0.55, 0.45], speed=2.0), need, cfg),  # moving
                                   (hovering, np.zeros(1), cfg),  # no run needed
                                   (hovering, need, PriorConfig(other_views=0.0))]:  # off
        assert len(other_views(tracker, GRID, tracker.predict(3), needs, config, report)[2]) == 0
