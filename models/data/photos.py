"""Real photographs as backgrounds: the camera photographs packaged with scikit-image
(``skimage/data``) and matplotlib (``grace_hopper.jpg``), so a synthetic scene can put its small
objects on real structure, and an image with no objects is a real negative (issue 15, items 5
and 6: the synthetic textures never taught the detector that wires, leaves, gravel or windows
are not drones).

Choices (no paper defines this):

- The photographs are split once, by name: ``TRAIN`` feeds datasets, ``HELDOUT`` only the
  benches (``bench/clips.py``'s ``photo`` scene), so a bench never scores a background the
  detector trained on. The two motorcycle frames are a stereo pair: both held out.
  Microscopy, drawings and scanned text in ``skimage/data`` are left out.
- A background is a mosaic: the frame is cut into a grid of cells of at most 512 px (the
  photographs are 300-1000 px) and each cell is a crop of a random photograph at a scale
  drawn from ``[1, 1.5]`` (raised where the photograph would not cover the cell), mirrored half
  the time, with a brightness gain in ``[0.8, 1.2]``. Native-scale crops keep the fine detail
  real footage has, where one photograph stretched over 1080p would be a blur; the price is
  straight seams between cells. Grey photographs are repeated over the three channels.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import cv2
import numpy as np

TRAIN = ("astronaut.png", "brick.png", "camera.png", "chelsea.png", "clock_motion.png",
         "coffee.png", "coins.png", "grass.png", "gravel.png", "moon.png",
         "hubble_deep_field.jpg")
HELDOUT = ("motorcycle_left.png", "motorcycle_right.png", "rocket.jpg", "grace_hopper.jpg")
CELL = 512


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"real-photo backgrounds need the {package} package "
                          "(pip install 'specks[host]')")
    return Path(spec.submodule_search_locations[0])


def photo_path(name: str) -> Path:
    if name == "grace_hopper.jpg":
        return _package_dir("matplotlib") / "mpl-data" / "sample_data" / name
    return _package_dir("skimage") / "data" / name


@functools.cache
def load_photos(names: tuple[str, ...] = TRAIN) -> tuple[np.ndarray, ...]:
    """The photographs, ``uint8 (H, W, 3)`` RGB."""
    out = []
    for name in names:
        image = cv2.imread(str(photo_path(name)), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"cannot read the packaged photograph {photo_path(name)}")
        out.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return tuple(out)


def _cell(rng: np.random.Generator, photo: np.ndarray, h: int, w: int) -> np.ndarray:
    ph, pw = photo.shape[:2]
    scale = max(rng.uniform(1.0, 1.5), h / ph, w / pw)
    size = (max(w, round(pw * scale)), max(h, round(ph * scale)))
    big = cv2.resize(photo, size, interpolation=cv2.INTER_LINEAR)
    y = int(rng.integers(0, big.shape[0] - h + 1))
    x = int(rng.integers(0, big.shape[1] - w + 1))
    crop = big[y:y + h, x:x + w].astype(np.float32) * rng.uniform(0.8, 1.2)
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def photo_background(rng: np.random.Generator, h: int, w: int,
                     names: tuple[str, ...] = TRAIN) -> np.ndarray:
    """A mosaic of photograph crops, float32 ``(H, W, 3)`` in ``[0, 255]`` (as
    :func:`~models.data.synth.background`)."""
    photos = load_photos(names)
    ys = np.linspace(0, h, -(-h // CELL) + 1).round().astype(int)
    xs = np.linspace(0, w, -(-w // CELL) + 1).round().astype(int)
    image = np.empty((h, w, 3), np.float32)
    for y0, y1 in zip(ys[:-1], ys[1:], strict=True):
        for x0, x1 in zip(xs[:-1], xs[1:], strict=True):
            photo = photos[int(rng.integers(len(photos)))]
            image[y0:y1, x0:x1] = _cell(rng, photo, y1 - y0, x1 - x0)
    return np.clip(image, 0, 255)
