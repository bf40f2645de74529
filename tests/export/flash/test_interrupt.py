"""Kill ``specks flash`` at random moments, locally and over a real sshd: the device always
keeps a valid, loadable current bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.flash.flash import FlashOptions, flash
from tests.export.flash.conftest import SPECKS
from tests.export.flash.trials import flash_argv, run_trials


def targets(tmp_path: Path, flash_bundles: dict, sshd) -> list:
    keys = flash_bundles["keys"]
    out = []
    for name, remote in (("local", False), ("ssh", True)):
        root = tmp_path / name
        dest = sshd.url(root) if remote else str(root)
        config = sshd.client_config if remote else None
        options = FlashOptions(board="x86-generic", trusted_keys=str(keys), restart=False,
                               ssh_config=str(config) if config else None, specks=SPECKS)
        assert flash(flash_bundles["v1"], dest, options).result == "installed"
        out.append((flash_argv(SPECKS, flash_bundles["v1"], dest, keys, config),
                    flash_argv(SPECKS, flash_bundles["v2"], dest, keys, config), root))
    return out


def test_interrupted_flashes_leave_a_valid_bundle(tmp_path, flash_bundles, sshd) -> None:
    summary = run_trials(targets(tmp_path, flash_bundles, sshd), flash_bundles["keys"],
                         count=5, seed=1)
    assert summary.survived == summary.trials == 5
    assert summary.interrupted >= 1  # the random kills did land inside flashes


@pytest.mark.slow
def test_fifty_interrupted_flashes(tmp_path, flash_bundles, sshd) -> None:
    summary = run_trials(targets(tmp_path, flash_bundles, sshd), flash_bundles["keys"],
                         count=50, seed=7, min_interrupted=25)
    assert summary.survived == summary.trials >= 50
    assert summary.interrupted >= 25
    assert len(summary.versions) == 2  # both versions were current at some point
