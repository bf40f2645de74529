import numpy as np
import pytest

from firmware_py.decode import Detections
from firmware_py.sparse.detections import NO_TRACK, FrameDetections
from firmware_py.sparse.modes import (
    FULL_FRAME_TILE,
    FramePlan,
    Letterbox,
    dense_plan,
    full_frame_plan,
    plan_frame,
    sparse_plan,
)
from firmware_py.sparse.sampler import SamplerConfig, TileSampler
from firmware_py.tiling import TileGrid

GRID = TileGrid(640, 480, 160, 160, overlap=32)  # 5 x 4 tiles


def frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)


def one_box(n: int) -> list[Detections]:
    return [Detections(np.array([[10, 20, 30, 40]], np.float32), np.array([0.5 + 0.01 * i],
                                                                             np.float32),
                       np.array([i], np.int64)) for i in range(n)]


def test_dense_runs_every_tile() -> None:
    plan = dense_plan(GRID)
    assert plan.indices.tolist() == list(range(20)) and len(plan) == 20 and plan.active.all()
    tiles = plan.crop(frame())
    assert tiles.shape == (20, 160, 160, 3)
    np.testing.assert_array_equal(tiles, GRID.crop(frame()))


def test_sparse_runs_the_samplers_tiles() -> None:
    def sampler() -> TileSampler:
        return TileSampler(20, SamplerConfig(budget=4, revisit_frames=5, seed=3))

    p = np.linspace(0.05, 1.0, 20)
    plans = [sparse_plan(GRID, sampler(), p) for _ in range(2)]
    expected = sampler()(p)
    for plan in plans:
        np.testing.assert_array_equal(plan.indices, expected)
        assert len(plan) == 4 and not plan.full_frame
        assert np.flatnonzero(plan.active).tolist() == expected.tolist()
        assert plan.crop(frame()).shape == (4, 160, 160, 3)
    with pytest.raises(ValueError, match="grid"):
        sparse_plan(GRID, TileSampler(19, SamplerConfig(budget=4, revisit_frames=5)), p)


def test_full_frame_letterboxes_the_whole_frame_into_one_tile() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    image[100:200, 300:400] = 255
    plan = full_frame_plan(GRID)
    assert len(plan) == 1 and plan.full_frame and not plan.active.any()
    tile = plan.crop(image)
    assert tile.shape == (1, 160, 160, 3)
    assert Letterbox(GRID).size == (160, 120)  # scale 1/4, aspect kept
    np.testing.assert_array_equal(tile[0, 120:], GRID.fill)  # padded at the bottom
    np.testing.assert_array_equal(tile[0, 25:50, 75:100], 255)  # the square, scaled by 1/4
    assert tile[0, :25].max() == 0 and tile[0, 50:120].max() == 0
    boxes = plan.to_frame(np.array([[75, 25, 100, 50], [150, 100, 170, 150]]), 0)
    np.testing.assert_allclose(boxes, [[300, 100, 400, 200], [600, 400, 640, 480]])  # clipped


def test_every_mode_returns_the_same_output_format() -> None:
    sampler = TileSampler(20, SamplerConfig(budget=3, revisit_frames=10))
    p = np.full(20, 0.5)
    outputs = {}
    for mode in ("dense", "sparse", "full_frame"):
        plan = plan_frame(mode, GRID, sampler, p)
        outputs[mode] = plan.collect(one_box(len(plan)))
    for out in outputs.values():
        assert isinstance(out, FrameDetections)
        assert [a.dtype for a in (out.boxes, out.scores, out.labels, out.tiles,
                                  out.interpolated)] == [np.float32, np.float32, np.int64,
                                                         np.int64, np.bool_]
        assert np.all(np.diff(out.scores) <= 0)
    dense = outputs["dense"]
    assert len(dense) == 20
    origin = GRID.origins[dense.tiles]
    np.testing.assert_allclose(dense.boxes, np.array([10, 20, 30, 40]) + np.tile(origin, 2))
    assert outputs["full_frame"].tiles.tolist() == [FULL_FRAME_TILE]
    np.testing.assert_allclose(outputs["full_frame"].boxes, [[40, 80, 120, 160]])


def test_collect_reports_only_what_ran_fresh_and_untracked() -> None:
    out = FramePlan(GRID, np.array([0, 7])).collect(one_box(2))
    assert sorted(out.tiles.tolist()) == [0, 7] and not out.interpolated.any()
    assert (out.tracks == NO_TRACK).all()


def test_plan_frame_rejects_bad_requests() -> None:
    with pytest.raises(ValueError, match="mode"):
        plan_frame("tiled", GRID)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sampler"):
        plan_frame("sparse", GRID)
    with pytest.raises(ValueError, match="results"):
        dense_plan(GRID).collect(one_box(3))
