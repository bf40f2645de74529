"""Installs on a device root in a temp folder: real signed bundles, real keys, the real LiteRT
runtime for the self-test, a real tmpfs for a full disk, and a stand-in restart command that
writes the health file the way ``specks run --health-file`` does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from firmware_py.device import load_trusted_keys
from firmware_py.device.install import InstallOptions, install, resolve_board, rollback
from firmware_py.device.slots import Layout, bundle_version, read_manifest
from firmware_py.verify import verify_bundle
from tests.firmware_py.device.bundles import REFUSALS, flip_byte, resign, stand_in_restart

BOARD = InstallOptions(board="x86-generic")


def state(root: Path) -> dict:
    """What must not change when an install is refused: links and every slot file's bytes."""
    layout = Layout(root)
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
             if p.is_file() and "slots" in p.parts}
    return {"current": layout.linked_slot(layout.current),
            "previous": layout.linked_slot(layout.previous), "files": files}


@pytest.fixture
def installed(root: Path, bundles: dict) -> Path:
    """A device root with v1 current."""
    assert install(bundles["v1"], root, bundles["keys"], BOARD).result == "installed"
    return root


def test_first_install_then_upgrade_keeps_the_old_one_as_previous(root, bundles) -> None:
    first = install(bundles["v1"], root, bundles["keys"], BOARD)
    assert (first.result, first.old, first.slot) == ("installed", None, "a")
    second = install(bundles["v2"], root, bundles["keys"], BOARD)
    assert second.result == "installed"
    assert (second.old, second.new) == (bundle_version(bundles["v1"]),
                                        bundle_version(bundles["v2"]))
    layout = Layout(root)
    assert layout.linked_slot(layout.current) == "b"
    assert layout.linked_slot(layout.previous) == "a"
    keys = load_trusted_keys(bundles["keys"])
    assert verify_bundle(layout.current, keys).metrics["version"] == 2
    assert yaml.safe_load((root / "board.yaml").read_text())["name"] == "x86-generic"
    record = json.loads((root / "run" / "install.json").read_text())
    assert record["result"] == "installed" and record["new"] == second.new


def test_reinstalling_the_current_bundle_changes_nothing(installed, bundles) -> None:
    before = state(installed)
    result = install(bundles["v1"], installed, bundles["keys"], BOARD)
    assert result.result == "unchanged"
    assert state(installed) == before


def test_third_install_reuses_the_previous_slot(installed, bundles) -> None:
    install(bundles["v2"], installed, bundles["keys"], BOARD)
    result = install(bundles["v1"], installed, bundles["keys"], BOARD)
    layout = Layout(installed)
    assert result.result == "installed" and result.slot == "a"
    assert (layout.linked_slot(layout.current), layout.linked_slot(layout.previous)) == \
        ("a", "b")


def test_board_is_remembered(installed, bundles) -> None:
    assert install(bundles["v2"], installed, bundles["keys"]).result == "installed"


def test_what_was_tested_is_what_is_recorded_and_runs(root, bundles, tmp_path) -> None:
    """An override given at install (``--set runtime.threads=1``) is kept with the profile the
    self-test ran, which ``selftest``, ``rollback`` and the service then load."""
    options = InstallOptions(board="x86-generic", board_overrides=("runtime.threads=1",))
    result = install(bundles["v1"], root, bundles["keys"], options)
    assert result.result == "installed"
    assert result.artifact == "tiny_fp32.tflite (litert, fp32)"
    assert json.loads((root / "run" / "install.json").read_text())["artifact"] == \
        result.artifact
    recorded = resolve_board(Layout(root), InstallOptions())
    assert (recorded.name, recorded.runtime.threads) == ("x86-generic", 1)


def test_a_refused_bundle_keeps_the_rollback_bundle(installed, bundles, tmp_path) -> None:
    """current=a, previous=b: a bundle that fails its self-test changes neither slot."""
    install(bundles["v2"], installed, bundles["keys"], BOARD)
    bad = resign(bundles["v1"], tmp_path / "bad", bundles["private"], _corrupt_golden,
                 metrics={"version": 4})
    before = state(installed)
    result = install(bad, installed, bundles["keys"], BOARD)
    assert result.result == "refused" and "self-test failed" in result.message
    assert state(installed) == before
    assert rollback(installed, bundles["keys"], BOARD).result == "installed"


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_bundles_are_refused_and_the_running_one_untouched(installed, bundles, tmp_path,
                                                               case: str) -> None:
    make, message = REFUSALS[case]
    bad = make(bundles["v2"], tmp_path / "bad", bundles["private"])
    before = state(installed)
    result = install(bad, installed, bundles["keys"], BOARD)
    assert result.result == "refused"
    assert message in result.message
    assert state(installed) == before


def test_bundle_for_another_board_is_refused(installed, bundles, tmp_path) -> None:
    other = resign(bundles["v1"], tmp_path / "other", bundles["private"], boards=("rpi5",))
    before = state(installed)
    result = install(other, installed, bundles["keys"], BOARD)
    assert result.result == "refused"
    assert "for boards rpi5; this device is x86-generic" in result.message
    assert state(installed) == before
    listed = resign(bundles["v1"], tmp_path / "listed", bundles["private"],
                    boards=("rpi5", "x86-generic"))
    assert install(listed, installed, bundles["keys"], BOARD).result == "installed"


def test_bundle_without_an_artifact_for_the_device_runtime_is_refused(installed, bundles):
    before = state(installed)
    only_executorch = InstallOptions(board="x86-generic", runtimes=("executorch",))
    result = install(bundles["v2"], installed, bundles["keys"], only_executorch)
    assert result.result == "refused"
    assert "litert/fp32" in result.message and "nothing it can run" in result.message
    assert state(installed) == before


def _corrupt_golden(dest: Path) -> None:
    path = dest / "golden" / "output_0.npy"
    np.save(path, np.load(path)[..., ::-1] + 0.5)


def test_failing_selftest_is_refused_and_the_slot_cleared(installed, bundles, tmp_path):
    bad = resign(bundles["v1"], tmp_path / "bad-golden", bundles["private"], _corrupt_golden,
                 metrics={"version": 4})
    before = state(installed)
    result = install(bad, installed, bundles["keys"], BOARD)
    assert result.result == "refused"
    assert "self-test failed" in result.message and "heatmap" in result.message
    assert state(installed) == before
    assert not (installed / "slots" / "b").exists()


def test_free_space_is_checked_before_copying(installed, bundles) -> None:
    # more than the whole disk: other processes freeing space cannot make it fit
    total = shutil.disk_usage(installed).total
    before = state(installed)
    options = InstallOptions(board="x86-generic", min_free_bytes=total + 1)
    result = install(bundles["v2"], installed, bundles["keys"], options)
    assert result.result == "refused"
    assert "not enough space" in result.message and "nothing was changed" in result.message
    assert state(installed) == before


@pytest.fixture
def tmpfs(tmp_path: Path):
    """A 16 MB tmpfs (mounting needs root) to shrink with ``remount(point, options)``."""
    point = tmp_path / "tmpfs"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the free-space "
                    "check is covered by test_free_space_is_checked_before_copying")
    yield point
    subprocess.run(["umount", str(point)], check=False)


def remount(point: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(point)], check=True)


def test_full_disk_is_refused_before_copying(bundles, tmpfs) -> None:
    assert install(bundles["v1"], tmpfs, bundles["keys"], BOARD).result == "installed"
    st = os.statvfs(tmpfs)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    needed = sum(p.stat().st_size for p in bundles["v2"].rglob("*") if p.is_file())
    remount(tmpfs, f"size={used + needed // 2}")  # room for half of the new bundle
    before = state(tmpfs)
    result = install(bundles["v2"], tmpfs, bundles["keys"], BOARD)
    assert result.result == "refused" and "not enough space" in result.message
    assert state(tmpfs) == before


def test_disk_full_during_the_copy_leaves_the_running_bundle(bundles, tmpfs) -> None:
    assert install(bundles["v1"], tmpfs, bundles["keys"], BOARD).result == "installed"
    st = os.statvfs(tmpfs)
    # inodes for 3 more files: the byte check passes, the copy hits ENOSPC part-way
    remount(tmpfs, f"nr_inodes={st.f_files - st.f_ffree + 3}")
    before = state(tmpfs)
    result = install(bundles["v2"], tmpfs, bundles["keys"], BOARD)
    assert result.result == "refused"
    assert "disk full while copying the bundle" in result.message
    assert state(tmpfs) == before
    assert not list((tmpfs / "slots").glob(".*"))


def test_restart_waits_for_healthy_stats(installed, bundles, tmp_path) -> None:
    options = InstallOptions(board="x86-generic",
                             restart_cmd=stand_in_restart(tmp_path, installed, True))
    result = install(bundles["v2"], installed, bundles["keys"], options)
    assert result.result == "installed" and "12.5 fps" in result.message
    assert (installed / "restarts").read_text().split() == [str(installed / "slots" / "b")]


def test_unhealthy_bundle_is_rolled_back(installed, bundles, tmp_path) -> None:
    options = InstallOptions(board="x86-generic", health_timeout=1.0,
                             restart_cmd=stand_in_restart(tmp_path, installed, False))
    result = install(bundles["v2"], installed, bundles["keys"], options)
    assert result.result == "rolled_back"
    assert "no healthy stats" in result.message and "ok=False" in result.message
    layout = Layout(installed)
    assert layout.linked_slot(layout.current) == "a"
    # restarted on the new bundle, then again on the old one
    assert (installed / "restarts").read_text().split() == [
        str(installed / "slots" / "b"), str(installed / "slots" / "a")]


def test_rollback_swaps_current_and_previous(installed, bundles) -> None:
    install(bundles["v2"], installed, bundles["keys"], BOARD)
    result = rollback(installed, bundles["keys"], BOARD)
    layout = Layout(installed)
    assert result.result == "installed" and result.new == bundle_version(bundles["v1"])
    assert (layout.linked_slot(layout.current), layout.linked_slot(layout.previous)) == \
        ("a", "b")


def test_rollback_without_previous_is_refused(installed, bundles) -> None:
    result = rollback(installed, bundles["keys"], BOARD)
    assert result.result == "refused" and "no previous bundle" in result.message


def test_rollback_refuses_a_previous_bundle_that_no_longer_verifies(installed, bundles):
    install(bundles["v2"], installed, bundles["keys"], BOARD)
    flip_byte(installed / "slots" / "a" / "tiny_fp32.tflite")
    result = rollback(installed, bundles["keys"], BOARD)
    layout = Layout(installed)
    assert result.result == "refused" and "sha256 mismatch" in result.message
    assert layout.linked_slot(layout.current) == "b"


def test_missing_trusted_keys_are_named(root, bundles, tmp_path) -> None:
    result = install(bundles["v1"], root, tmp_path / "nokeys", BOARD)
    assert result.result == "refused" and "nokeys" in result.message
    assert "trusted-keys directory does not exist" in result.message


def test_an_older_bundle_is_refused_unless_a_downgrade_is_asked(installed, bundles,
                                                                 tmp_path) -> None:
    """Anti-rollback, as A/B updaters do: a bundle built before the running one."""
    manifest = read_manifest(bundles["v1"])
    older = resign(bundles["v1"], tmp_path / "older", bundles["private"],
                   created=manifest.created - timedelta(days=1), metrics={"version": 0})
    before = state(installed)
    result = install(older, installed, bundles["keys"], BOARD)
    assert result.result == "refused" and "--allow-downgrade" in result.message
    assert state(installed) == before
    downgrade = InstallOptions(board="x86-generic", allow_downgrade=True)
    assert install(older, installed, bundles["keys"], downgrade).result == "installed"
