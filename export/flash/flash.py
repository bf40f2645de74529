"""``specks flash BUNDLE --to DEST``: put a bundle on one board.

Remote (``ssh://``): copy the bundle into ``<root>/staging/<name>-<random>`` on the target,
then run the target's own ``specks device install`` on it over ssh (``--json``; the staged
copy is removed afterwards). Everything that decides whether the bundle is good -- signature
against the device's trusted keys, hashes, board and runtime, free space, self-test, switch,
restart and health, rollback -- happens on the device (``firmware_py.device.install``), so an
interrupted flash or a dropped connection can never leave the device half-switched.

Local (a directory): the device code runs in this process. Choice where the issue is silent:
no staging copy, the install copies straight from the bundle into the inactive slot (a staging
copy would only double the writes to an SD card). A directory holding ``etc/os-release`` and
no ``slots/`` is taken as a board's root filesystem (a mounted SD card): the device root is
``<dest>/opt/specks``, its trusted keys ``<dest>/etc/specks/trusted_keys``, its units
``<dest>/etc/systemd/system``, and nothing is restarted.
"""

from __future__ import annotations

import json
import logging
import shlex
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from export.flash.transport import (
    CopyMethod,
    LocalTarget,
    Ssh,
    SshTarget,
    TransportError,
    parse_target,
    remote_join,
    safe_name,
    shared_connection,
    tail,
)
from firmware_py.device import DeviceError
from firmware_py.device.install import InstallOptions, InstallResult, install
from firmware_py.device.slots import bundle_version
from firmware_py.trust import trusted_key_locations

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]


class FlashOptions(BaseModel):
    """How to reach a target and what its install does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    board: str | None = Field(None, min_length=1, max_length=256, description="board profile "
                              "on the target; None = the one recorded by its last install")
    specks: str = Field("specks", min_length=1, max_length=1024, description="the specks "
                        "command on the target (e.g. '/opt/specks/venv/bin/specks', "
                        "'sudo -n specks')")
    trusted_keys: str | None = Field(None, max_length=4096, description="trusted-keys folder "
                                     "on the target; None = the device's default")
    restart: bool = Field(True, description="restart the service after the switch")
    restart_cmd: str | None = Field(None, max_length=1024, description="restart command on "
                                    "the target; None = systemctl if specks.service exists")
    health_timeout: float = Field(60.0, gt=0, le=3600, description="seconds to wait for "
                                  "healthy stats after the restart")
    service: bool = Field(False, description="install and enable specks.service too")
    force: bool = Field(False, description="reinstall even if the bundle is already current")
    allow_downgrade: bool = Field(False, description="install a bundle built before the "
                                  "target's current one")
    ssh_config: str | None = Field(None, max_length=4096, description="ssh -F config file")
    ssh_options: tuple[str, ...] = Field((), max_length=64, description="ssh -o Key=Value")
    copy_method: CopyMethod = Field("auto", description="rsync, scp, or rsync falling back to scp")
    connect_timeout: int = Field(10, ge=1, le=600, description="ssh ConnectTimeout, seconds")
    timeout: float = Field(900.0, gt=0, le=86400, description="limit for one copy or install")


@dataclass
class FlashResult:
    """One target's outcome: ``result`` is the device install's outcome, or ``failed``."""

    dest: str
    result: str
    board: str | None = None
    old: str | None = None
    new: str | None = None
    seconds: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.result in ("installed", "unchanged")


def _install_options(options: FlashOptions, **overrides) -> InstallOptions:
    return InstallOptions(**{
        "board": options.board, "restart": options.restart, "restart_cmd": options.restart_cmd,
        "health_timeout": options.health_timeout, "service": options.service,
        "force": options.force, "allow_downgrade": options.allow_downgrade, **overrides})


def is_rootfs(path: Path) -> bool:
    """A board's root filesystem (``etc/os-release``) rather than a device root."""
    return (path / "etc" / "os-release").is_file() and not (path / "slots").exists()


def flash_local(bundle: Path, target: LocalTarget, options: FlashOptions) -> InstallResult:
    """Install into a local device root or a mounted rootfs, in this process."""
    if is_rootfs(target.path):
        log.info("%s looks like a root filesystem: installing into %s/opt/specks", target.path,
                 target.path)
        given = [options.trusted_keys] if options.trusted_keys else []
        keys = trusted_key_locations(given, target.path / "etc/specks/trusted_keys")
        return install(bundle, target.path / "opt/specks", keys, _install_options(
            options, restart=False, unit_dir=target.path / "etc/systemd/system",
            specks_exe=options.specks, unit_root=Path("/opt/specks")))
    return install(bundle, target.path, options.trusted_keys, _install_options(options))


def _install_argv(options: FlashOptions, staged: str, root: str) -> list[str]:
    argv = [*shlex.split(options.specks), "device", "install", staged, "--root", root, "--json",
            "--remove-staged", "--health-timeout", str(options.health_timeout)]
    flags = {"--board": options.board, "--trusted-keys": options.trusted_keys,
             "--restart-cmd": options.restart_cmd if options.restart else None}
    for flag, value in flags.items():
        if value is not None:
            argv += [flag, value]
    for flag, on in (("--no-restart", not options.restart), ("--service", options.service),
                     ("--force", options.force),
                     ("--allow-downgrade", options.allow_downgrade)):
        if on:
            argv.append(flag)
    return argv


def _parse_install(stdout: str, stderr: str, code: int, target: SshTarget) -> InstallResult:
    lines = stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1]) if lines else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or "result" not in data:
        raise TransportError(f"{target}: 'specks device install' gave no result (exit {code}): "
                             f"{tail(stderr)}")
    known = {f.name for f in fields(InstallResult)}
    return InstallResult(**{k: v for k, v in data.items() if k in known})


def flash_ssh(bundle: Path, target: SshTarget, options: FlashOptions,
              progress: Progress) -> InstallResult:
    """Copy to the target's staging folder over ssh, then run its ``specks device install``."""
    staged = remote_join(target.path, "staging", f"{safe_name(bundle.name)}-"
                         f"{uuid.uuid4().hex[:8]}")
    with shared_connection(Ssh(target, options.ssh_config, options.ssh_options,
                               options.connect_timeout)) as ssh:
        progress("connect", 0.05)
        ssh.check(["mkdir", "-p", remote_join(target.path, "staging")], options.timeout)
        progress("copy", 0.15)
        try:
            ssh.copy_dir(bundle, staged, options.copy_method, options.timeout)
        except TransportError:
            ssh.run(["rm", "-rf", staged], options.timeout)
            raise
        progress("install", 0.5)
        done = ssh.run(_install_argv(options, staged, target.path), options.timeout)
    return _parse_install(done.stdout, done.stderr, done.returncode, target)


def flash(bundle: str | Path, dest: str, options: FlashOptions | None = None,
          progress: Progress | None = None) -> FlashResult:
    """Flash ``bundle`` to ``dest``; never raises for a failure of the target (the result says
    what happened), so a fleet goes on with the other hosts."""
    options = options or FlashOptions()
    progress = progress or (lambda stage, fraction: None)
    bundle = Path(bundle)
    start = time.perf_counter()
    result = FlashResult(dest=dest, result="failed", board=options.board)
    try:
        result.new = bundle_version(bundle)
        target = parse_target(dest)
        if isinstance(target, LocalTarget):
            progress("install", 0.2)
            done = flash_local(bundle, target, options)
        else:
            done = flash_ssh(bundle, target, options, progress)
        result.result, result.old, result.message = done.result, done.old, done.message
    except (DeviceError, TransportError, OSError) as error:
        result.message = str(error)
    result.seconds = round(time.perf_counter() - start, 2)
    progress(result.result, 1.0)
    log.log(logging.INFO if result.ok else logging.ERROR, "%s: %s %s -> %s: %s", dest,
            result.result, result.old or "-", result.new or "-", result.message)
    return result
