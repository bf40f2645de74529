"""Flash-test fixtures: a real OpenSSH server on 127.0.0.1 (session-wide) and two signed
versions of the device tests' bundle with a trusted-keys folder for the simulated devices."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.data.make_device_bundle import BUNDLE, KEYS
from tests.export.flash.sshd import SSHD, Sshd
from tests.firmware_py.device.bundles import resign
from tests.required import required_tool

SPECKS = str(Path(sys.executable).parent / "specks")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    required_tool("sshd", "apt-get install openssh-server", candidates=(str(SSHD),))
    with Sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="session")
def flash_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"v1", "v2": bundle dirs, "keys": trusted-keys folder, "private": signer key}``."""
    root = tmp_path_factory.mktemp("flash-bundles")
    shutil.copytree(BUNDLE, root / "tiny")
    private, public = KEYS / "specks.key", KEYS / "specks.pub"
    v2 = resign(root / "tiny", root / "tiny-v2", private, metrics={"version": 2})
    keys = root / "trusted"
    keys.mkdir()
    shutil.copy(public, keys / "signer.pub")
    return {"v1": root / "tiny", "v2": v2, "keys": keys, "private": private}
