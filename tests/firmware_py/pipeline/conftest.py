"""Pipeline fixtures: the device bundle loaded as a BundleModel, small frame folders, and the
sink tests' real mosquitto broker and subscriber (:mod:`tests.firmware_py.sinks.conftest`)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from firmware_py.pipeline.model import BundleModel
from firmware_py.verify import load_public_key
from tests.firmware_py.sinks.conftest import collector, mosquitto  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def model(device_bundle) -> BundleModel:
    bundle, _, public = device_bundle
    return BundleModel(bundle, [load_public_key(public)], precision="fp32", threads=1)


def scene(seed: int, width: int = 100, height: int = 70) -> np.ndarray:
    """An RGB uint8 frame: a gradient with a few bright squares (the tiny net responds to
    blobs)."""
    rng = np.random.default_rng(seed)
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:] = (np.linspace(40, 120, width)[None, :, None]).astype(np.uint8)
    for _ in range(4):
        x, y = rng.integers(0, width - 6), rng.integers(0, height - 6)
        frame[y:y + 5, x:x + 5] = rng.integers(150, 255, 3)
    return frame


@pytest.fixture()
def frames_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.cvtColor(scene(i), cv2.COLOR_RGB2BGR))
    return folder
