"""``flash`` over a real sshd and to local folders: installs, refusals that leave the running
bundle untouched, a full disk on the target, unreachable hosts, and the health wait."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from export.flash.flash import FlashOptions, flash
from firmware_py.device.slots import Layout, bundle_version
from firmware_py.shipped import ZOO_BUNDLES, ZOO_KEYS
from tests.export.flash.conftest import SPECKS
from tests.firmware_py.device.bundles import REFUSALS, stand_in_restart


def options(sshd, flash_bundles, **kw) -> FlashOptions:
    return FlashOptions(board="x86-generic", trusted_keys=str(flash_bundles["keys"]),
                        restart=False, ssh_config=str(sshd.client_config), specks=SPECKS,
                        **kw)


def slots_state(root: Path) -> dict:
    layout = Layout(root)
    return {"current": layout.linked_slot(layout.current),
            "files": {str(p.relative_to(root)): p.read_bytes()
                      for p in sorted(root.rglob("*")) if p.is_file() and "slots" in p.parts}}


@pytest.fixture
def remote(tmp_path, sshd, flash_bundles) -> tuple[Path, str]:
    """A device root reached over ssh, with v1 installed."""
    root = tmp_path / "device"
    result = flash(flash_bundles["v1"], sshd.url(root), options(sshd, flash_bundles))
    assert result.result == "installed", result.message
    return root, sshd.url(root)


def test_flash_over_ssh_installs_and_cleans_staging(remote, sshd, flash_bundles) -> None:
    root, url = remote
    result = flash(flash_bundles["v2"], url, options(sshd, flash_bundles))
    assert result.ok and result.result == "installed"
    assert (result.old, result.new) == (bundle_version(flash_bundles["v1"]),
                                        bundle_version(flash_bundles["v2"]))
    assert bundle_version(Layout(root).current) == result.new
    assert list((root / "staging").iterdir()) == []
    again = flash(flash_bundles["v2"], url, options(sshd, flash_bundles))
    assert again.result == "unchanged"


@pytest.fixture(scope="module")
def refusing(tmp_path_factory, sshd, flash_bundles) -> tuple[Path, str]:
    """A device root with v1 installed, shared by the refusal tests (which change nothing)."""
    root = tmp_path_factory.mktemp("refusing") / "device"
    assert flash(flash_bundles["v1"], sshd.url(root), options(sshd, flash_bundles)).ok
    return root, sshd.url(root)


# every refusal is also checked locally in tests/firmware_py/device/test_install.py
FAST = ("tampered file", "untrusted signer")


@pytest.mark.parametrize("case", [pytest.param(c, marks=() if c in FAST else pytest.mark.slow)
                                  for c in sorted(REFUSALS)])
def test_refused_over_ssh_and_device_untouched(refusing, sshd, flash_bundles, tmp_path,
                                               case) -> None:
    root, url = refusing
    make, message = REFUSALS[case]
    bad = make(flash_bundles["v2"], tmp_path / "bad", flash_bundles["private"])
    before = slots_state(root)
    result = flash(bad, url, options(sshd, flash_bundles))
    assert result.result == "refused" and not result.ok
    assert message in result.message
    assert slots_state(root) == before


def test_full_disk_on_the_target_during_the_copy(tmp_path, sshd, flash_bundles) -> None:
    point = tmp_path / "sd"
    point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        url = sshd.url(point)
        assert flash(flash_bundles["v1"], url, options(sshd, flash_bundles)).ok
        used = sum(p.stat().st_blocks * 512 for p in point.rglob("*") if p.is_file())
        subprocess.run(["mount", "-o", f"remount,size={used + 8192}", str(point)], check=True)
        before = slots_state(point)
        result = flash(flash_bundles["v2"], url, options(sshd, flash_bundles))
        assert result.result == "failed" and "No space left on device" in result.message
        assert slots_state(point) == before
        assert list((point / "staging").iterdir()) == []  # the partial staged copy is gone
    finally:
        subprocess.run(["umount", str(point)], check=False)


def test_unreachable_host_fails_with_sshs_message(sshd, flash_bundles, tmp_path) -> None:
    result = flash(flash_bundles["v1"], f"ssh://root@127.0.0.1:1{tmp_path}",
                   options(sshd, flash_bundles, connect_timeout=5))
    assert result.result == "failed" and "Connection refused" in result.message


def test_missing_remote_specks_is_reported(remote, sshd, flash_bundles) -> None:
    _, url = remote
    result = flash(flash_bundles["v2"], url, options(sshd, flash_bundles).model_copy(
        update={"specks": "/nonexistent/specks"}))
    assert result.result == "failed" and "/nonexistent/specks" in result.message


def test_flash_restarts_and_waits_for_health(remote, sshd, flash_bundles, tmp_path) -> None:
    root, url = remote
    opts = options(sshd, flash_bundles).model_copy(update={
        "restart": True, "restart_cmd": stand_in_restart(tmp_path, root, True)})
    result = flash(flash_bundles["v2"], url, opts)
    assert result.result == "installed" and "healthy at 12.5 fps" in result.message


def test_unhealthy_flash_rolls_back(remote, sshd, flash_bundles, tmp_path) -> None:
    root, url = remote
    opts = options(sshd, flash_bundles).model_copy(update={
        "restart": True, "health_timeout": 1.0,
        "restart_cmd": stand_in_restart(tmp_path, root, False)})
    result = flash(flash_bundles["v2"], url, opts)
    assert result.result == "rolled_back" and not result.ok
    assert bundle_version(Layout(root).current) == bundle_version(flash_bundles["v1"])


def test_local_rootfs_is_recognised(tmp_path, flash_bundles) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc" / "specks").mkdir(parents=True)
    (rootfs / "etc" / "os-release").write_text('ID=debian\n')
    (rootfs / "etc" / "specks" / "trusted_keys").symlink_to(flash_bundles["keys"])
    result = flash(flash_bundles["v1"], str(rootfs), FlashOptions(board="x86-generic",
                                                                   service=True))
    assert result.result == "installed", result.message
    assert bundle_version(Layout(rootfs / "opt" / "specks").current) == result.new
    unit = rootfs / "etc" / "systemd" / "system" / "specks.service"
    text = unit.read_text()  # paths as the booted board sees them, not this mount's
    assert ("ExecStart=specks run --board /opt/specks/board.yaml --bundle /opt/specks/current"
            in text)
    assert "name: x86-generic" in (rootfs / "opt" / "specks" / "board.yaml").read_text()
    assert "ReadWritePaths=/opt/specks/run " in text and str(tmp_path) not in text
    assert (unit.parent / "multi-user.target.wants" / "specks.service").is_symlink()


@pytest.mark.parametrize("board", ["x86-generic", "rpi5"])
@pytest.mark.parametrize("bundle", ["specknet-nano", "csnet-prior"])
def test_the_shipped_bundles_flash_and_self_test(tmp_path, board: str, bundle: str) -> None:
    """What ships is what flashes: the zoo bundles, verified against the zoo key, self-tested
    in this machine's runtime with the board's profile."""
    result = flash(ZOO_BUNDLES / bundle, str(tmp_path / "device"), FlashOptions(
        board=board, trusted_keys=str(ZOO_KEYS), restart=False))
    assert result.result == "installed", result.message
    record = json.loads((tmp_path / "device" / "run" / "install.json").read_text())
    assert record["artifact"].startswith(f"{bundle}_int8.tflite (litert, int8)")
