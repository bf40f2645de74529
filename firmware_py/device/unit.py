"""The text of ``specks.service``: the profile's whole deployment, run as an unprivileged user
under systemd's sandbox and watchdog.

Syntax per systemd.service(5), systemd.exec(5) and systemd.unit(5); choices of ours where the
man pages leave them open:

- What runs: ``specks run --board <root>/board.yaml --bundle <root>/current --health-file
  <root>/run/health.json`` in the device root: the profile the install self-tested with,
  overrides applied, so the service runs the artifact that was tested. The profile holds the
  sinks, dashboard, stats log and power budget, so the service streams where the profile
  says with no other option.
- Secrets: ``EnvironmentFile=-/etc/specks/specks.env`` (``SPECKS_MQTT_USERNAME``,
  ``SPECKS_MQTT_PASSWORD``, ``SPECKS_DASHBOARD_TOKEN``, ...). systemd reads it as root before
  dropping privileges, so it can be ``root:root 0600``; the ``-`` lets the unit start without
  it.
- Who runs it: ``User=specks`` (a system user the install creates on the board, see
  :mod:`.service`), whose supplementary groups ``video`` (``/dev/video*``, ``/dev/media*``,
  ``/dev/dma_heap/*`` on Raspberry Pi OS, ``/dev/vchiq`` for ``vcgencmd``, Jetson's
  ``/dev/nvhost-*``) and ``i2c`` (``/dev/i2c-*``) reach the camera and sensors. Groups come
  from the user's membership (systemd applies it, initgroups(3)) rather than
  ``SupplementaryGroups=``, which fails the start where a group does not exist.
- Cache: ``CacheDirectory=specks`` (``/var/cache/specks``, writable under the sandbox, owned
  by the service user) holds the ExecuTorch runner that ``firmware_py.runtimes`` compiles on
  first use (``SPECKS_CACHE_DIR``).
- Watchdog: ``Type=notify`` (the loop sends ``READY=1`` once it runs), ``WatchdogSec=60``
  (fed from the frame loop, :mod:`.sdnotify`; 60 s outlasts a dense frame of a slow board),
  ``NotifyAccess=main``; ``Restart=on-failure`` restarts on a crash or a watchdog timeout.
- Sandbox: ``ProtectSystem=strict`` makes the file system read-only but for
  ``ReadWritePaths``: the root's ``run/``, ``spool/`` and ``log/`` plus the folders of the
  profile's outputs (a folder outside the root is prefixed ``-``: skipped if absent).
  ``ProtectHome=read-only`` (not ``yes``): a venv under ``/home`` stays runnable.
  ``NoNewPrivileges``, ``PrivateTmp``, ``ProtectKernelTunables/Modules/Logs``,
  ``ProtectControlGroups``, ``ProtectHostname``, ``RestrictNamespaces``, ``RestrictRealtime``,
  ``RestrictSUIDSGID``, ``LockPersonality``, ``SystemCallArchitectures=native``, an empty
  ``CapabilityBoundingSet`` and ``RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
  AF_NETLINK`` (netlink: libcamera's udev monitor). Left out on purpose, as each would cut the
  camera off or break a runtime: ``PrivateDevices``, ``DevicePolicy``/``DeviceAllow`` and
  ``ProtectClock`` (which implies a ``DeviceAllow``), ``MemoryDenyWriteExecute`` (JIT code in
  runtimes and libffi), ``SystemCallFilter`` (camera stacks' ioctls, untested here).
- Quoting: ``%`` is doubled everywhere (specifiers); words of ``ExecStart``, ``Environment``
  and ``ReadWritePaths`` are double-quoted when not plain (systemd.syntax(7)), and ``$`` is
  doubled in ``ExecStart`` (variable expansion); ``WorkingDirectory`` and ``EnvironmentFile``
  take the rest of the line as is. So a root with spaces or ``%`` survives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from firmware_py.board import BoardConfig
from firmware_py.device.slots import Layout

DEFAULT_ENV_FILE = Path("/etc/specks/specks.env")
SERVICE_USER = "specks"
DEVICE_GROUPS = ("video", "i2c")
WATCHDOG_S = 60
_PLAIN = re.compile(r"[A-Za-z0-9_@+=:,./-]+")

HARDENING = """\
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={writable}
ProtectHome=read-only
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
CapabilityBoundingSet=
UMask=0027"""


def literal(value: str) -> str:
    """A value systemd takes as is, apart from specifiers: ``%`` doubled."""
    return value.replace("%", "%%")


def quote(value: str) -> str:
    """One word of a word list: as is when plain, else double-quoted with ``\\`` and ``"``
    escaped; ``%`` doubled."""
    if not _PLAIN.fullmatch(value):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return literal(value)


def exec_line(argv: Iterable[str]) -> str:
    """An ``ExecStart=`` command line; ``$`` doubled so systemd does not expand it."""
    return " ".join(quote(arg).replace("$", "$$") for arg in argv)


def output_dirs(layout: Layout, board: BoardConfig) -> list[Path]:
    """The folders the profile's deployment writes to, relative paths taken from the root."""
    paths = [board.telemetry.log_path, board.sinks.mqtt and board.sinks.mqtt.spool_path,
             board.sinks.jsonl and board.sinks.jsonl.path]
    dirs = [layout.run, layout.spool, layout.log]
    for path in paths:
        if path and path != "-":
            folder = (layout.root / path).parent  # an absolute path replaces the root
            if folder not in dirs:
                dirs.append(folder)
    return dirs


def writable_paths(layout: Layout, board: BoardConfig) -> str:
    """``ReadWritePaths=``: the output folders; those outside the root optional (``-``)."""
    root = layout.root
    return " ".join(("" if folder == root or root in folder.parents else "-") + quote(str(folder))
                    for folder in output_dirs(layout, board))


def unit_text(layout: Layout, board: BoardConfig, executable: str,
              env_file: Path = DEFAULT_ENV_FILE, user: str = SERVICE_USER) -> str:
    """The text of ``specks.service`` for a device root and board profile."""
    exec_start = exec_line([executable, "run", "--board", str(layout.board_file),
                            "--bundle", str(layout.current),
                            "--health-file", str(layout.health_file)])
    hardening = HARDENING.format(writable=writable_paths(layout, board))
    return f"""# Written by `specks device install --service`; the next install rewrites it.
# Local changes: `systemctl edit specks`. Secrets: {env_file} (root:root, mode 0600).
[Unit]
Description=Specks small-object detection (board {board.name})
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=notify
NotifyAccess=main
WatchdogSec={WATCHDOG_S}
TimeoutStartSec=180
ExecStart={exec_start}
WorkingDirectory={literal(str(layout.root))}
Environment={quote(f"SPECKS_ROOT={layout.root}")} PYTHONUNBUFFERED=1
Environment=SPECKS_CACHE_DIR=/var/cache/specks
CacheDirectory=specks
EnvironmentFile=-{literal(str(env_file))}
User={user}
Group={user}
Restart=on-failure
RestartSec=3
{hardening}

[Install]
WantedBy=multi-user.target
"""
