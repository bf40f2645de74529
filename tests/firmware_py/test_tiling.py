"""Tile grid: coverage, containment of small objects, crops, coordinate shifts, cut flags."""

import ast
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import firmware_py.tiling
from firmware_py.tiling import TileGrid


@st.composite
def grids(draw: st.DrawFn) -> TileGrid:
    tile_w, tile_h = draw(st.integers(8, 96)), draw(st.integers(8, 96))
    if draw(st.booleans()):
        overlap: float | int = draw(st.integers(0, min(tile_w, tile_h) * 3 // 4))
    else:
        overlap = draw(st.floats(0.0, 0.75))
    return TileGrid(draw(st.integers(1, 400)), draw(st.integers(1, 400)), tile_w, tile_h,
                    overlap)


@st.composite
def grid_and_object(draw: st.DrawFn, margin: float = 0.0) -> tuple[TileGrid, np.ndarray]:
    """A grid and an object box inside the frame no larger than ``overlap - margin``."""
    grid = draw(grids())
    max_w = min(grid.width, max(grid.overlap_x - margin, 0.0) if grid.cols > 1 else grid.width)
    max_h = min(grid.height, max(grid.overlap_y - margin, 0.0) if grid.rows > 1
                else grid.height)
    w, h = draw(st.floats(0.0, max_w)), draw(st.floats(0.0, max_h))
    x0, y0 = draw(st.floats(0.0, grid.width - w)), draw(st.floats(0.0, grid.height - h))
    return grid, np.array([x0, y0, min(x0 + w, grid.width), min(y0 + h, grid.height)])


def _inside(box: np.ndarray, windows: np.ndarray) -> np.ndarray:
    return ((windows[:, 0] <= box[0]) & (windows[:, 1] <= box[1])
            & (box[2] <= windows[:, 2]) & (box[3] <= windows[:, 3]))


@settings(deadline=None)
@given(grids())
def test_every_pixel_covered_and_tiles_stay_inside(grid: TileGrid) -> None:
    count = np.zeros((grid.height + 1, grid.width + 1), dtype=np.int64)
    for x0, y0, x1, y1 in grid.windows:
        x1, y1 = min(x1, grid.width), min(y1, grid.height)
        count[y0, x0] += 1
        count[y0, x1] -= 1
        count[y1, x0] -= 1
        count[y1, x1] += 1
    coverage = count.cumsum(0).cumsum(1)[: grid.height, : grid.width]
    assert coverage.min() >= 1
    for origins, size, tile in ((grid.x_origins, grid.width, grid.tile_width),
                                (grid.y_origins, grid.height, grid.tile_height)):
        assert origins[0] == 0
        assert np.all(np.diff(origins) > 0)
        if size >= tile:  # no tile reaches outside; the last one is snapped to the edge
            assert origins[-1] + tile == size
        else:
            assert len(origins) == 1


@settings(deadline=None)
@given(grid_and_object())
def test_objects_up_to_the_overlap_lie_inside_a_tile(case: tuple[TileGrid, np.ndarray]) -> None:
    grid, box = case
    assert _inside(box, grid.windows).any()


def test_containment_bound_is_tight() -> None:
    grid = TileGrid(1000, 320, 320, 320, overlap=64)
    np.testing.assert_array_equal(grid.x_origins, [0, 256, 512, 680])
    fits = np.array([256.0, 0, 320, 10])  # exactly the 64 px overlap of tiles 0 and 1
    too_wide = np.array([255.0, 0, 321, 10])  # 66 px across the same overlap
    assert _inside(fits, grid.windows).any()
    assert not _inside(too_wide, grid.windows).any()


def test_full_hd_grid_layout() -> None:
    grid = TileGrid(1920, 1080)  # 320x320, overlap 0.2 -> 64 px, stride 256
    assert (grid.overlap_x, grid.overlap_y) == (64, 64)
    np.testing.assert_array_equal(grid.x_origins, [0, 256, 512, 768, 1024, 1280, 1536, 1600])
    np.testing.assert_array_equal(grid.y_origins, [0, 256, 512, 760])
    assert (grid.rows, grid.cols, len(grid)) == (4, 8, 32)
    np.testing.assert_array_equal(grid.origins[9], [256, 256])  # row 1, col 1


@pytest.mark.parametrize(("overlap", "pixels"), [(0.25, (80, 40)), (40, (40, 40)), (0, (0, 0)),
                                                 (0.0, (0, 0))])
def test_overlap_as_fraction_or_pixels(overlap: float | int, pixels: tuple[int, int]) -> None:
    grid = TileGrid(1000, 1000, 320, 160, overlap)
    assert (grid.overlap_x, grid.overlap_y) == pixels


@pytest.mark.parametrize("overlap", [1.0, -0.1, 160, -1, True])
def test_bad_overlap_rejected(overlap: float | int) -> None:
    with pytest.raises((ValueError, TypeError)):
        TileGrid(1000, 1000, 320, 160, overlap)


def test_index_row_col_roundtrip() -> None:
    grid = TileGrid(1920, 1080)
    idx = np.arange(len(grid))
    row, col = grid.row_col(idx)
    np.testing.assert_array_equal(grid.index(row, col), idx)
    assert grid.row_col(10) == (1, 2)
    assert grid.index(3, 7) == 31
    with pytest.raises(IndexError):
        grid.row_col(32)
    with pytest.raises(IndexError):
        grid.index(0, 8)


def test_crop_copies_frame_pixels() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    grid = TileGrid(300, 200, 64, 48, overlap=0.25)
    tiles = grid.crop(frame)
    assert tiles.shape == (len(grid), 48, 64, 3) and tiles.dtype == np.uint8
    for i, (x0, y0) in enumerate(grid.origins):
        np.testing.assert_array_equal(tiles[i], frame[y0:y0 + 48, x0:x0 + 64])


def test_crop_subset_into_reused_buffer() -> None:
    frame = np.random.default_rng(1).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    grid = TileGrid(300, 200, 64, 64, overlap=16)
    out = np.zeros((8, 64, 64, 3), dtype=np.uint8)
    picked = grid.crop(frame, [5, 0, 7], out=out)
    assert picked.shape == (3, 64, 64, 3)
    assert np.shares_memory(picked, out)
    np.testing.assert_array_equal(picked, grid.crop(frame)[[5, 0, 7]])
    with pytest.raises(ValueError):
        grid.crop(frame, np.arange(9), out=out)
    with pytest.raises(ValueError):
        grid.crop(frame[:, :-1])


def test_small_frame_padded_at_far_side() -> None:
    frame = np.full((50, 100, 3), 7, dtype=np.uint8)
    grid = TileGrid(100, 50, 64, 64, overlap=0.2, fill=114)
    assert (grid.rows, grid.cols) == (1, 2)
    tiles = grid.crop(frame)
    assert tiles.shape == (2, 64, 64, 3)
    assert np.all(tiles[:, :50] == 7) and np.all(tiles[:, 50:] == 114)
    # Padding sits below the frame, so tile and frame coordinates differ by the origin only.
    boxes = np.array([[10.0, 5, 20, 60]])
    np.testing.assert_allclose(grid.to_frame(boxes, 1), [[46, 5, 56, 50]])  # clipped at y=50
    np.testing.assert_allclose(grid.to_frame(boxes, 1, clip=False), [[46, 5, 56, 60]])


def test_to_frame_per_box_tiles() -> None:
    grid = TileGrid(1920, 1080)
    boxes = np.array([[1.5, 2, 10, 20], [300, 300, 319, 319], [0, 0, 5, 5]], dtype=np.float32)
    shifted = grid.to_frame(boxes, np.array([0, 9, 31]))
    assert shifted.dtype == np.float32
    np.testing.assert_allclose(shifted, [[1.5, 2, 10, 20], [556, 556, 575, 575],
                                         [1600, 760, 1605, 765]])
    assert grid.to_frame(np.zeros((0, 4)), np.zeros(0, dtype=int)).shape == (0, 4)


def _visible_copies(grid: TileGrid, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a perfect detector reports in each tile: the box clipped to the tile's view."""
    view = grid.windows.astype(np.float64)
    view[:, 2:] = np.minimum(view[:, 2:], [grid.width, grid.height])
    lo, hi = np.maximum(box[:2], view[:, :2]), np.minimum(box[2:], view[:, 2:])
    seen = np.all(hi > lo, axis=1)
    return np.concatenate([lo, hi], axis=1)[seen], np.flatnonzero(seen)


@settings(deadline=None)
@given(grid_and_object(margin=1.0))
def test_cut_mask_leaves_only_whole_copies(case: tuple[TileGrid, np.ndarray]) -> None:
    grid, box = case
    if np.any(box[2:] <= box[:2]):
        return
    copies, tiles = _visible_copies(grid, box)
    keep = ~grid.cut_mask(copies, tiles, margin=1.0)
    assert keep.any()
    np.testing.assert_allclose(copies[keep], np.broadcast_to(box, copies[keep].shape))
    nothing_active = np.zeros(len(grid), dtype=bool)
    assert not grid.cut_mask(copies, tiles, margin=1.0, active=nothing_active).any()


@st.composite
def grid_and_any_object(draw: st.DrawFn) -> tuple[TileGrid, np.ndarray]:
    grid = draw(grids())
    x0, y0 = draw(st.integers(0, grid.width - 1)), draw(st.integers(0, grid.height - 1))
    x1, y1 = draw(st.integers(x0 + 1, grid.width)), draw(st.integers(y0 + 1, grid.height))
    return grid, np.array([x0, y0, x1, y1], dtype=np.float64)


@settings(deadline=None)
@given(grid_and_any_object())
def test_cut_mask_never_loses_an_object(case: tuple[TileGrid, np.ndarray]) -> None:
    grid, box = case  # any size, even larger than the overlap or a whole tile
    copies, tiles = _visible_copies(grid, box)
    assert (~grid.cut_mask(copies, tiles, margin=1.0)).any()


def test_cut_mask_drops_the_cut_copy_of_a_straddler() -> None:
    grid = TileGrid(1000, 320, 320, 320, overlap=64)
    box = np.array([300.0, 100, 330, 130])  # cut by tile 0's right side, whole in tile 1
    copies, tiles = _visible_copies(grid, box)
    np.testing.assert_array_equal(tiles, [0, 1])
    np.testing.assert_array_equal(grid.cut_mask(copies, tiles), [True, False])
    active = np.array([True, False, True, True])  # tile 1 did not run: keep the cut copy
    np.testing.assert_array_equal(grid.cut_mask(copies, tiles, active=active), [False, False])


def test_imports_only_numpy_and_stdlib() -> None:
    tree = ast.parse(Path(firmware_py.tiling.__file__).read_text())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module}
    assert roots - set(sys.stdlib_module_names) == {"numpy"}
