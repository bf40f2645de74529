"""Device-test fixtures: the signed test bundle checked in under ``tests/data`` (made by the
real exporter, ``tests/data/make_device_bundle.py``), so the device tests need no torch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.data.make_device_bundle import BUNDLE, KEYS


@pytest.fixture(scope="session")
def device_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """``(bundle_dir, private_key_pem, public_key_pem)``: a copy of the 32x32-tile
    TinyCenterNet bundle (fp32 ``.tflite`` and golden files) and its test-only key pair."""
    copy = tmp_path_factory.mktemp("device-bundle") / "bundle"
    shutil.copytree(BUNDLE, copy)
    return copy, KEYS / "specks.key", KEYS / "specks.pub"
