"""Tile cores partition the frame, and an object up to the overlap in size whose centre lies
in a core lies wholly inside that tile's window."""

import numpy as np
import pytest

from firmware_py.sparse.cores import box_tile, core_tile, core_windows, view_tile
from firmware_py.tiling import TileGrid

GRIDS = [TileGrid(640, 480, 160, 160, overlap=32), TileGrid(1920, 1080, 320, 320, 0.2),
         TileGrid(100, 70, 32, 32, 0.25), TileGrid(200, 100, 320, 320, 0.2)]


@pytest.mark.parametrize("grid", GRIDS)
def test_cores_partition_the_frame(grid: TileGrid) -> None:
    cores = core_windows(grid)
    points = np.random.default_rng(0).uniform(0, [grid.width, grid.height], (5000, 2))
    inside = ((points[:, None, 0] >= cores[None, :, 0]) & (points[:, None, 0] < cores[None, :, 2])
              & (points[:, None, 1] >= cores[None, :, 1])
              & (points[:, None, 1] < cores[None, :, 3]))  # (P, N)
    assert (inside.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(core_tile(grid, points), inside.argmax(axis=1))
    area = ((cores[:, 2] - cores[:, 0]) * (cores[:, 3] - cores[:, 1])).sum()
    assert area == pytest.approx(grid.width * grid.height)


@pytest.mark.parametrize("grid", GRIDS[:3])
def test_a_small_object_centred_in_a_core_is_inside_its_window(grid: TileGrid) -> None:
    rng = np.random.default_rng(1)
    side = min(grid.overlap_x, grid.overlap_y)
    centre = rng.uniform(side / 2, [grid.width - side / 2, grid.height - side / 2], (3000, 2))
    boxes = np.concatenate([centre - side / 2, centre + side / 2], axis=1)
    window = grid.windows[box_tile(grid, boxes)]
    assert (boxes[:, :2] >= window[:, :2]).all() and (boxes[:, 2:] <= window[:, 2:]).all()


def test_a_track_is_credited_to_its_view_while_inside_it() -> None:
    grid = TileGrid(1920, 1080, 320, 320, 0.2)  # windows 1 [256, 576) and 2 [512, 832) in x
    still = [[525.0, 100.0, 535.0, 110.0]]  # in both windows; its core is tile 1's
    assert box_tile(grid, still).tolist() == [1]
    assert view_tile(grid, still, [2]).tolist() == [2]  # the view that found it
    assert view_tile(grid, still, [-1]).tolist() == [1]  # no view yet: the core
    left = [[500.0, 100.0, 510.0, 110.0]]  # has left window 2: back to the core
    assert view_tile(grid, left, [2]).tolist() == [1]
    assert view_tile(grid, still * 2, [5, 99]).tolist() == [1, 1]  # not a window / unknown
