"""``specks device install``: put a bundle into the inactive A/B slot and switch to it only
once it is proven good, else leave (or put back) the running bundle.

Steps, each refusing with a message that names the failed check:
1. verify the signature against the trusted keys and every file's sha256
   (``firmware_py.verify``);
2. check the bundle is for this board and has an artifact for a runtime the device has;
3. check the free space (``shutil.disk_usage``) before writing anything;
4. copy beside the slots (fsync'd), then verify the copy again;
5. self-test the copy in its runtime (``firmware_py.device.selftest``); a refusal up to here
   leaves both slots and links as they were;
6. move the copy into the inactive slot, record the profile it was tested with (overrides
   applied: ``<root>/board.yaml``, which the service and later commands run), commit:
   ``previous`` -> old current, ``current`` -> new slot (atomic renames);
7. if a service runs: restart it and wait for a fresh healthy health record from the new
   bundle; if none comes, switch back (a rollback), restart again and report it.

Until step 6 the slots and the links are never touched; a stop at any
instant leaves ``current`` on a complete, verified bundle. Choices where the issue is silent:
installing the bundle already current is a no-op (``unchanged``) unless forced; a bundle built
before the current one is refused unless ``allow_downgrade`` (anti-rollback); a bundle with
no golden files is refused (the self-test could not vouch for it); every outcome is recorded in
``run/install.json`` for ``specks device status``.

``rollback`` is the manual reverse: verify the previous bundle, swap the links, restart and
wait for health.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from firmware_py.atomic import write_atomic
from firmware_py.board import BoardConfig, BoardConfigError, load_board
from firmware_py.device import DeviceError, KeyLocations, load_trusted_keys
from firmware_py.device.compat import check_compatible
from firmware_py.device.health import Health, wait_healthy
from firmware_py.device.selftest import SelftestError, selftest
from firmware_py.device.service import (
    DEFAULT_UNIT_DIR,
    install_service,
    restart_command,
    run_restart,
)
from firmware_py.device.slots import (
    Layout,
    bundle_bytes,
    bundle_version,
    check_space,
    commit,
    locked,
    place_slot,
    read_manifest,
    remove_debris,
    stage_copy,
    swap,
    write_json,
)
from firmware_py.device.unit import DEFAULT_ENV_FILE
from firmware_py.manifest import Manifest
from firmware_py.verify import BundleError, verify_bundle

log = logging.getLogger(__name__)

Outcome = Literal["installed", "unchanged", "refused", "rolled_back", "failed"]


class InstallOptions(BaseModel):
    """How an install runs on this device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    board: str | None = Field(None, min_length=1, description="board profile name or path; "
                              "None = the board of the last install")
    board_overrides: tuple[str, ...] = Field((), description="--set key=value for the profile")
    runtimes: tuple[Literal["litert", "executorch"], ...] | None = Field(
        None, description="runtimes this device has; None = those installed")
    restart: bool = Field(True, description="restart the service after the switch")
    restart_cmd: str | None = Field(None, min_length=1, description="restart command; None = "
                                    "'systemctl restart specks' if the unit is installed")
    health_timeout: float = Field(60.0, gt=0, le=3600, description="seconds to wait for a "
                                  "healthy stats record after the restart")
    min_free_bytes: int = Field(0, ge=0, description="bytes to keep free after the copy")
    force: bool = Field(False, description="reinstall even if the bundle is already current")
    allow_downgrade: bool = Field(False, description="install a bundle built before the "
                                  "current one (refused otherwise, as A/B updaters do)")
    service: bool = Field(False, description="install and enable specks.service")
    unit_dir: Path = Field(DEFAULT_UNIT_DIR, description="where specks.service goes")
    env_file: Path = Field(DEFAULT_ENV_FILE, description="the unit's EnvironmentFile (secrets)")
    unit_root: Path | None = Field(None, description="the device root as the board sees it, "
                                   "for the unit (a mounted rootfs: /opt/specks); None = root")
    specks_exe: str | None = Field(None, description="ExecStart executable; None = this one")


@dataclass
class InstallResult:
    """The outcome of one install, as printed by ``--json`` and kept in ``run/install.json``."""

    result: Outcome
    old: str | None = None
    new: str | None = None
    slot: str | None = None
    message: str = ""
    artifact: str | None = None  # what the self-test ran, e.g. "x_int8.tflite (litert, int8)"
    seconds: float = 0.0
    time: str = ""

    @property
    def ok(self) -> bool:
        return self.result in ("installed", "unchanged")


def resolve_board(layout: Layout, options: InstallOptions) -> BoardConfig:
    """The board profile: the option, else the one recorded (overrides applied) by the last
    install, so the self-test, the service and a rollback run what was tested."""
    name = options.board
    if name is None and layout.board_file.is_file():
        name = str(layout.board_file)
    if name is None:
        raise DeviceError(f"no board profile: pass --board (nothing recorded in "
                          f"{layout.board_file})")
    return load_board(name, options.board_overrides)


def record_board(layout: Layout, board: BoardConfig) -> None:
    """Keep the profile an install tested with, as YAML the loader reads back."""
    text = yaml.safe_dump(board.model_dump(mode="json", exclude_unset=True), sort_keys=False)
    write_atomic(layout.board_file, f"# the profile of the last install (specks device "
                                    f"install); edit the source and reinstall\n{text}".encode())


def _restart_command(options: InstallOptions) -> str | None:
    if not options.restart:
        return None
    return options.restart_cmd or restart_command(options.unit_dir)


def _restart_and_wait(layout: Layout, command: str, bundle: Path, timeout: float) -> Health:
    started = time.time()
    run_restart(command)
    return wait_healthy(layout.health_file, started, bundle, timeout)


def _switch_and_check(layout: Layout, slot: str, slot_dir: Path, board: BoardConfig,
                      options: InstallOptions) -> tuple[Outcome, str]:
    """Steps 6-7: commit, then restart and wait for health; roll back if it never comes."""
    record_board(layout, board)
    commit(layout, slot)
    if options.service:
        install_service(layout, board, options.unit_dir, options.specks_exe, options.env_file,
                        options.unit_root)
    command = _restart_command(options)
    if command is None:
        return "installed", f"switched to slot {slot} (service not restarted)"
    try:
        health = _restart_and_wait(layout, command, slot_dir, options.health_timeout)
    except DeviceError as error:
        swap(layout)
        log.error("%s; rolled back to the previous bundle", error)
        try:
            run_restart(command)
        except DeviceError as again:
            log.error("restart after rollback failed too: %s", again)
        return "rolled_back", f"{error}; rolled back to the previous bundle"
    return "installed", f"switched to slot {slot}; healthy at {health.fps:.1f} fps"


def check_not_older(new: Manifest, current: Manifest) -> None:
    """Anti-rollback: refuse a bundle built before the running one (``--allow-downgrade``
    or ``specks rollback`` go back on purpose)."""
    if new.created < current.created:
        when = "%Y-%m-%d %H:%M UTC"
        raise DeviceError(f"bundle '{new.model}' was built {new.created:{when}}, before the "
                          f"running '{current.model}' ({current.created:{when}}); pass "
                          "--allow-downgrade to install it anyway")


def _install_locked(bundle: Path, layout: Layout, board: BoardConfig, keys: Sequence,
                    options: InstallOptions, result: InstallResult) -> None:
    manifest = verify_bundle(bundle, keys)                          # 1. signature + hashes
    check_compatible(manifest, board, options.runtimes)              # 2. board + runtime
    remove_debris(layout)
    current = layout.linked_slot(layout.current)
    result.old = bundle_version(layout.slot(current)) if current else None
    if result.old == result.new and not options.force:
        result.result, result.message = "unchanged", f"{result.new} is already current"
        if options.service:
            install_service(layout, board, options.unit_dir, options.specks_exe,
                            options.env_file, options.unit_root)
        return
    if current and not options.allow_downgrade:
        check_not_older(manifest, read_manifest(layout.slot(current)))
    check_space(layout, bundle_bytes(bundle, manifest), options.min_free_bytes)  # 3.
    staged = stage_copy(layout, bundle, manifest)                   # 4. copy + re-verify
    try:
        verify_bundle(staged, keys)
        test = selftest(staged, board, options.runtimes)            # 5.
        if not test.passed:
            raise SelftestError(f"self-test failed: {test.summary()}")
    except (BundleError, DeviceError):
        shutil.rmtree(staged, ignore_errors=True)
        raise
    result.artifact = f"{test.artifact} ({test.runtime}, {test.precision})"
    slot = layout.inactive_slot()
    slot_dir = place_slot(layout, slot, staged)                     # 6.
    result.slot = slot
    result.result, result.message = _switch_and_check(layout, slot, slot_dir, board, options)


def install(bundle: str | Path, root: str | Path, trusted_keys: KeyLocations = None,
            options: InstallOptions | None = None) -> InstallResult:
    """Install ``bundle`` (a directory) under the device ``root``; never raises for a refused
    bundle: the result says what happened and why."""
    options = options or InstallOptions()
    bundle, layout = Path(bundle), Layout(Path(root))

    def run(result: InstallResult) -> None:
        result.new = bundle_version(bundle)
        board = resolve_board(layout, options)
        keys = load_trusted_keys(trusted_keys)
        _install_locked(bundle, layout, board, keys, options, result)

    return _attempt(layout, run)


def _attempt(layout: Layout, step: Callable[[InstallResult], None]) -> InstallResult:
    """Run ``step`` under the root's lock; turn refusals into the result; record it."""
    start = time.perf_counter()
    result = InstallResult("refused")
    try:
        with locked(layout):
            step(result)
    except (BundleError, BoardConfigError, DeviceError) as error:
        result.result, result.message = "refused", str(error)
    except OSError as error:
        result.result, result.message = "failed", f"{type(error).__name__}: {error}"
    result.seconds = round(time.perf_counter() - start, 3)
    result.time = datetime.now(timezone.utc).isoformat(timespec="seconds")
    log.log(logging.INFO if result.ok else logging.ERROR, "%s: %s", result.result, result.message)
    try:
        write_json(layout.install_record, asdict(result))
    except OSError as error:
        log.warning("could not record the install in %s: %s", layout.install_record, error)
    return result


def _rollback_locked(layout: Layout, keys: Sequence, options: InstallOptions,
                     result: InstallResult) -> None:
    previous = layout.linked_slot(layout.previous)
    if previous is None:
        raise DeviceError(f"{layout.root}: no previous bundle to roll back to")
    current = layout.linked_slot(layout.current)
    result.old = bundle_version(layout.slot(current)) if current else None
    verify_bundle(layout.slot(previous), keys)
    result.new, result.slot = bundle_version(layout.slot(previous)), previous
    swap(layout)
    command = _restart_command(options)
    if command is None:
        result.result, result.message = "installed", f"rolled back to slot {previous} " \
            "(service not restarted)"
        return
    try:
        health = _restart_and_wait(layout, command, layout.slot(previous),
                                   options.health_timeout)
    except DeviceError as error:
        result.result, result.message = "failed", f"rolled back to slot {previous}, but {error}"
        return
    result.result = "installed"
    result.message = f"rolled back to slot {previous}; healthy at {health.fps:.1f} fps"


def rollback(root: str | Path, trusted_keys: KeyLocations = None,
             options: InstallOptions | None = None) -> InstallResult:
    """Make the previous bundle current again (after verifying it), restart and wait for
    health; the bundle it replaces becomes ``previous``."""
    options = options or InstallOptions()
    layout = Layout(Path(root))
    return _attempt(layout, lambda result: _rollback_locked(
        layout, load_trusted_keys(trusted_keys), options, result))
