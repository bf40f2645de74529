import numpy as np
import pytest
import torch

from export import ExportError
from export.calibration import image_paths, image_tiles, normalise
from firmware_py.manifest import InputSpec
from firmware_py.tiling import TileGrid
from models.data.boxes import read_image, write_image

SPEC = InputSpec(shape=(1, 3, 32, 32))


def _all_crops(paths, tile: int = 32) -> list[np.ndarray]:
    crops = []
    for path in paths:
        image = read_image(path)
        grid = TileGrid(image.shape[1], image.shape[0], tile, tile, 0.2)
        crops.extend(grid.crop(image))
    return crops


def test_tiles_from_data_yaml_are_device_grid_crops(synth_yolo) -> None:
    """Every calibration input is a full-resolution grid tile of a train image (not a resized
    frame), of the model's input size, and they spread over the images."""
    train = image_paths(synth_yolo, "train")
    assert len(train) == 4 and all("train" in p.parts for p in train)
    tiles = image_tiles(train, 7, SPEC)
    assert len(tiles) == 7 and all(t.shape == (1, 3, 32, 32) for t in tiles)
    crops = [torch.from_numpy(c).permute(2, 0, 1).float() / 255 for c in _all_crops(train)]
    sources = []
    for tile in tiles:
        match = [i for i, c in enumerate(crops) if torch.equal(c, tile[0])]
        assert match, "a calibration tile is not a crop of the device grid"
        sources.append(match[0] // 9)  # 64x64 frame, 32 px tiles, overlap 6 -> 3x3 tiles
    assert len(set(sources)) == 4  # ceil(7 / 4) = 2 tiles per image: all 4 images used


def test_tiles_are_normalised_by_the_input_spec(synth_yolo) -> None:
    train = image_paths(synth_yolo, "train")
    spec = InputSpec(shape=(1, 3, 32, 32), mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.5))
    raw, normed = image_tiles(train, 3, SPEC, seed=5), image_tiles(train, 3, spec, seed=5)
    for r, n in zip(raw, normed, strict=True):
        torch.testing.assert_close(n, normalise(r, spec))
        torch.testing.assert_close(r[:, 0] - 0.5, n[:, 0] * 0.2)


def test_small_frame_is_padded_with_fill(tmp_path) -> None:
    folder = tmp_path / "imgs"
    write_image(folder / "a.png", np.full((20, 24, 3), 200, np.uint8))
    tile, = image_tiles(image_paths(folder), 1, SPEC)
    assert torch.all(tile[0, :, :20, :24] == 200 / 255)
    assert torch.all(tile[0, :, 20:] == 114 / 255) and torch.all(tile[0, :, :, 24:] == 114 / 255)


def test_bad_sources_are_refused(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        image_paths(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match="no images"):
        image_paths(tmp_path / "empty")
    with pytest.raises(ExportError, match="at least one tile"):
        image_tiles([tmp_path / "x.png"], 0, SPEC)
