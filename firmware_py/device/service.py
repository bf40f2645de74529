"""The systemd unit that keeps ``specks run`` going: ``specks.service``.

Unit syntax per systemd.service(5) and systemd.unit(5): ``Restart=on-failure`` restarts the
pipeline when it exits non-zero or is killed; ``RestartSec`` spaces the restarts and
``StartLimitIntervalSec``/``StartLimitBurst`` stop a crash loop. Enabling follows what
``systemctl enable`` does for ``WantedBy=multi-user.target``: a symlink in
``multi-user.target.wants/``. When systemd is running (sd_booted(3): ``/run/systemd/system``
exists) ``systemctl daemon-reload`` and ``systemctl enable`` do it; otherwise (a rootfs
mounted on a workstation, a container) the symlink is written directly, so the board starts
the service on its next boot.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from firmware_py.atomic import write_atomic
from firmware_py.device import DeviceError
from firmware_py.device.slots import Layout

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


def unit_text(layout: Layout, board: str, executable: str) -> str:
    """The text of ``specks.service`` for a device root and board profile."""
    exec_start = shlex.join([executable, "run", "--board", board,
                             "--bundle", str(layout.current),
                             "--health-file", str(layout.health_file)])
    return f"""[Unit]
Description=Specks small-object detection (board {board})
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=simple
ExecStart={exec_start}
Environment=SPECKS_ROOT={layout.root}
WorkingDirectory={layout.root}
Restart=on-failure
RestartSec=3

[Install]
WantedBy=multi-user.target
"""


def _systemctl(*args: str) -> None:
    result = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise DeviceError(f"systemctl {' '.join(args)} failed: {result.stderr.strip()}")


def install_service(layout: Layout, board: str, unit_dir: Path = DEFAULT_UNIT_DIR,
                    executable: str | None = None) -> Path:
    """Write ``specks.service`` atomically into ``unit_dir`` and enable it; return its path."""
    path = unit_dir / UNIT_NAME
    write_atomic(path, unit_text(layout, board, executable or specks_executable()).encode())
    if systemd_running() and unit_dir == DEFAULT_UNIT_DIR:
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
