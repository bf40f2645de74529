"""Device-test fixtures: a small signed bundle made by the real exporter (host side), which the
device code under test then verifies and loads without torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import make_bundle


@pytest.fixture(scope="session")
def device_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """``(bundle_dir, private_key_pem, public_key_pem)``: a 32x32-tile TinyCenterNet bundle
    with an fp32 ``.tflite`` artifact and golden files, signed by a fresh key."""
    root = tmp_path_factory.mktemp("device-bundle")
    _, private, public = make_bundle(root / "bundle", root / "keys")
    return root / "bundle", private, public
