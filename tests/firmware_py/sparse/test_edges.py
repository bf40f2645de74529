"""The edge cue: an object entering across the frame's border lights the tile whose core it
enters, where a slow pan, sensor noise and a known track do not."""

import numpy as np

from firmware_py.sparse.edges import EdgeWatch
from firmware_py.tiling import TileGrid

GRID = TileGrid(640, 480, 160, 160, overlap=32)  # 5 x 4 tiles
WORLD = np.random.default_rng(0).integers(60, 120, (500, 700, 3)).astype(np.uint8)


def frame(x: int = 10, noise: int = 0, seed: int = 0) -> np.ndarray:
    """The view at column ``x`` of a textured world, with sensor noise."""
    view = WORLD[10:490, x:x + 640].astype(np.int16)
    view += np.random.default_rng(seed).integers(-noise, noise + 1, view.shape, dtype=np.int16)
    return np.clip(view, 0, 255).astype(np.uint8)


def test_an_object_entering_lights_its_edge_tile() -> None:
    watch = EdgeWatch(GRID, side=8, threshold=24)
    assert not watch(frame()).any()  # first frame: nothing to compare
    entering = frame()
    entering[200:204, 636:640] = 250  # a 4 px object enters at the right edge
    lit = watch(entering)
    assert np.flatnonzero(lit).tolist() == [GRID.index(1, 4)]  # row 1's core holds y 200


def test_noise_a_one_pixel_pan_and_a_known_track_do_not_light() -> None:
    watch = EdgeWatch(GRID, side=8, threshold=24)
    watch(frame(x=10, noise=4, seed=1))
    assert not watch(frame(x=11, noise=4, seed=2)).any()  # camera moved 1 px, new noise
    entering = frame(x=11)
    entering[200:204, 636:640] = 250
    assert not watch(entering, explained=np.array([[630, 195, 640, 210]])).any()


def test_a_new_frame_size_starts_over() -> None:
    watch = EdgeWatch(GRID, side=8, threshold=24)
    watch(frame())
    assert not watch(frame()[:400]).any()
