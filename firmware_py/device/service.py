"""Installing ``specks.service`` (its text: :mod:`.unit`), which keeps the profile's deployment
running: ``Restart=on-failure`` restarts the pipeline when it exits non-zero, is killed or
stops feeding the watchdog; ``RestartSec`` spaces the restarts and
``StartLimitIntervalSec``/``StartLimitBurst`` stop a crash loop.

An install writes the unit atomically and makes the root's output folders. On the board itself
(root, systemd running: sd_booted(3), ``/run/systemd/system`` exists, the default unit folder)
it also writes a commented template of the secrets file (``/etc/specks/specks.env``, mode 0600)
if there is none, creates the service user (``useradd --system``, no home, no login shell, in
the device groups that exist: ``video``, ``i2c``), makes the profile's output folders outside
the root too and gives them all to that user, and runs ``systemctl daemon-reload`` and
``enable``. Elsewhere (a rootfs mounted on a workstation, a container, a test root) the user is
only named in the unit, and enabling is what ``systemctl enable`` does for ``WantedBy=multi-
user.target``: a symlink in ``multi-user.target.wants/``, so the board starts the service on its
next boot (create the user there with the same ``useradd`` before that boot).
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from firmware_py.atomic import write_atomic
from firmware_py.board import BoardConfig
from firmware_py.device import DeviceError
from firmware_py.device.slots import Layout
from firmware_py.device.unit import (
    DEFAULT_ENV_FILE,
    DEVICE_GROUPS,
    SERVICE_USER,
    output_dirs,
    unit_text,
)

log = logging.getLogger(__name__)

UNIT_NAME = "specks.service"
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
RESTART_COMMAND = "systemctl restart specks"


def systemd_running() -> bool:
    """sd_booted(3): the system was booted with systemd as init."""
    return Path("/run/systemd/system").is_dir()


def specks_executable() -> str:
    """Absolute path of the ``specks`` command running now (or on PATH)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "specks" and argv0.exists():
        return str(argv0.resolve())
    beside = Path(sys.executable).parent / "specks"
    if beside.exists():
        return str(beside)
    found = shutil.which("specks")
    if found is None:
        raise DeviceError("no 'specks' executable found for the unit's ExecStart; "
                          "pass --specks-exe PATH")
    return str(Path(found).resolve())


ENV_TEMPLATE = """\
# Secrets of specks.service, read by systemd as root (keep this file root:root, mode 0600).
# KEY=VALUE lines; the profile never holds these.
# SPECKS_MQTT_USERNAME=cam1
# SPECKS_MQTT_PASSWORD=...
# SPECKS_DASHBOARD_TOKEN=...   (16+ characters of A-Z a-z 0-9 . _ ~ + / -)
"""


def on_the_board(unit_dir: Path) -> bool:
    """This install configures the running system (root, systemd, the system's unit folder),
    not a mounted image or a test root."""
    return os.geteuid() == 0 and systemd_running() and unit_dir == DEFAULT_UNIT_DIR


def existing_groups(names: tuple[str, ...] = DEVICE_GROUPS) -> list[str]:
    """The device groups this system has."""
    out = []
    for name in names:
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        out.append(name)
    return out


def ensure_user(user: str, home: Path) -> None:
    """Create the system user (and its group) if absent, and add it to the device groups."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        _run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
              str(home), "--shell", "/usr/sbin/nologin", user])
    groups = existing_groups()
    if groups:
        _run(["usermod", "--append", "--groups", ",".join(groups), user])


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise DeviceError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


def write_env_template(env_file: Path) -> None:
    """A commented secrets file, mode 0600, unless one exists."""
    if env_file.exists():
        return
    env_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ENV_TEMPLATE)


def _systemctl(*args: str) -> None:
    _run(["systemctl", *args])


def install_service(layout: Layout, board: BoardConfig, unit_dir: Path = DEFAULT_UNIT_DIR,
                    executable: str | None = None, env_file: Path = DEFAULT_ENV_FILE,
                    unit_root: Path | None = None) -> Path:
    """Write ``specks.service`` atomically into ``unit_dir`` and enable it, with its user, its
    output folders and a secrets template (see the module notes); return its path.
    ``unit_root`` is the device root as the running board will see it (``/opt/specks`` for a
    root filesystem mounted here); None = ``layout``'s root."""
    executable = executable or specks_executable()
    if Path(executable).is_relative_to("/home") or Path(executable).is_relative_to("/root"):
        log.warning("%s is under a home folder, which user %r may not be able to read; "
                    "install specks in a venv under /opt (e.g. /opt/specks/venv)", executable,
                    SERVICE_USER)
    path = unit_dir / UNIT_NAME
    seen = Layout(unit_root) if unit_root is not None else layout
    write_atomic(path, unit_text(seen, board, executable, env_file).encode())
    board_itself = on_the_board(unit_dir)
    for folder in output_dirs(layout, board):  # off the board, only the root's own
        if board_itself or layout.root in folder.parents:
            folder.mkdir(parents=True, exist_ok=True)
    if board_itself:
        write_env_template(env_file)
        ensure_user(SERVICE_USER, layout.root)
        for folder in output_dirs(layout, board):
            shutil.chown(folder, SERVICE_USER, SERVICE_USER)
        _systemctl("daemon-reload")
        _systemctl("enable", UNIT_NAME)
    else:
        wants = unit_dir / "multi-user.target.wants"
        wants.mkdir(exist_ok=True)
        link = wants / UNIT_NAME
        if not link.is_symlink():
            link.symlink_to(f"../{UNIT_NAME}")
    log.info("installed and enabled %s", path)
    return path


def restart_command(unit_dir: Path = DEFAULT_UNIT_DIR) -> str | None:
    """The default restart: ``systemctl restart specks`` if the unit is installed and systemd
    runs; None (no restart) otherwise."""
    if (unit_dir / UNIT_NAME).is_file() and systemd_running():
        return RESTART_COMMAND
    return None


def run_restart(command: str, timeout: float = 120.0) -> None:
    """Run the restart command (``systemctl restart`` returns once the unit has started)."""
    try:
        result = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DeviceError(f"restart command {command!r} failed: {error}") from None
    if result.returncode != 0:
        raise DeviceError(f"restart command {command!r} exited {result.returncode}: "
                          f"{result.stderr.strip()[-500:]}")
