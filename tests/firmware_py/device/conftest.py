"""Device install fixtures: the signed test bundle, a re-signed second version of it, a
trusted-keys folder, and a fresh device root per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.firmware_py.device.bundles import resign


@pytest.fixture(scope="session")
def bundles(device_bundle, tmp_path_factory) -> dict[str, Path]:
    """``{"v1": bundle, "v2": the same model re-signed as another version, "keys": folder
    holding only the signer's public key, "private": the signer's private key}``."""
    bundle, private, public = device_bundle
    root = tmp_path_factory.mktemp("versions")
    v2 = resign(bundle, root / "v2", private, metrics={"version": 2})
    keys = root / "trusted"
    keys.mkdir()
    shutil.copy(public, keys / "signer.pub")
    return {"v1": bundle, "v2": v2, "keys": keys, "private": private}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "device"
