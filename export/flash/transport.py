"""Where a bundle goes: a local directory or ``ssh://[user@]host[:port]/path``.

Remote targets go through the system's OpenSSH client (ssh(1), scp(1)) and rsync(1) run as
subprocesses, so ``~/.ssh/config``, agents, keys and known_hosts work as they do for the user.
``-F FILE`` and ``-o Key=Value`` options are passed to every ssh, scp and rsync call
(rsync through ``-e``). ``BatchMode=yes`` is always set: a flash never stops at a password
or host-key prompt (ssh_config(5)), it fails with ssh's own message instead.

Choices: the URL path names the device root (``/opt/specks`` when empty). The calls of one
flash share one connection (``ControlMaster=auto``, a ``ControlPath`` in a private temp
folder): one key exchange per host instead of three; ``ssh -O exit`` ends it, and if the
flash is killed the master exits on its own ``ControlPersist`` seconds after its last
session. Copies use rsync when it is installed here (``-a --delete``: a retried copy sends
only what changed) and fall back to scp when the target has no rsync (rsync exit 12 with
"command not found").
"""

from __future__ import annotations

import logging
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import unquote, urlsplit

from export import ExportError

log = logging.getLogger(__name__)

DEFAULT_REMOTE_ROOT = "/opt/specks"
CONTROL_PERSIST_S = 30
CopyMethod = Literal["auto", "rsync", "scp"]


class TransportError(ExportError):
    """A copy or remote command failed; the message carries the tool's own error."""


@dataclass(frozen=True)
class LocalTarget:
    """A device root (or a board's rootfs) reachable as a local path."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class SshTarget:
    """A device root on a host reached with OpenSSH."""

    host: str
    path: str = DEFAULT_REMOTE_ROOT
    user: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{self.host}{port}{self.path}"

    @property
    def login(self) -> str:
        """``[user@]host`` as ssh takes it."""
        return f"{self.user}@{self.host}" if self.user else self.host

    @property
    def copy_login(self) -> str:
        """``[user@]host`` as scp and rsync take it (IPv6 addresses in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}" if self.user else host


Target = LocalTarget | SshTarget


def parse_target(dest: str) -> Target:
    """``/path`` or ``ssh://[user@]host[:port]/path``."""
    if "://" not in dest:
        return LocalTarget(Path(dest).expanduser())
    url = urlsplit(dest)
    if url.scheme != "ssh":
        raise TransportError(f"{dest}: unsupported scheme {url.scheme!r}; use a local path or "
                             "ssh://[user@]host[:port]/path")
    if not url.hostname or url.hostname.startswith("-"):
        raise TransportError(f"{dest}: no valid host in the URL")
    try:
        port = url.port
    except ValueError:
        raise TransportError(f"{dest}: invalid port") from None
    path = unquote(url.path) or DEFAULT_REMOTE_ROOT
    return SshTarget(host=url.hostname, path=path, user=unquote(url.username)
                     if url.username else None, port=port)


@dataclass(frozen=True)
class Ssh:
    """How to run ssh, scp and rsync against one target."""

    target: SshTarget
    config: str | None = None
    options: tuple[str, ...] = ()
    connect_timeout: int = 10
    control_path: str | None = None

    def _opts(self) -> list[str]:
        opts = ["-F", self.config] if self.config else []
        shared = (f"ControlPath={self.control_path}", "ControlMaster=auto",
                  f"ControlPersist={CONTROL_PERSIST_S}") if self.control_path else ()
        for option in ("BatchMode=yes", f"ConnectTimeout={self.connect_timeout}", *shared,
                       *self.options):
            opts += ["-o", option]
        return opts

    def ssh_argv(self) -> list[str]:
        port = ["-p", str(self.target.port)] if self.target.port else []
        return ["ssh", *port, *self._opts()]

    def run(self, command: list[str], timeout: float) -> subprocess.CompletedProcess:
        """Run ``command`` (quoted for the remote shell) on the target."""
        return _run([*self.ssh_argv(), self.target.login, shlex.join(command)], timeout,
                    self.target)

    def check(self, command: list[str], timeout: float) -> str:
        result = self.run(command, timeout)
        if result.returncode != 0:
            raise TransportError(f"{self.target}: {shlex.join(command)} failed "
                                 f"(exit {result.returncode}): {tail(result.stderr)}")
        return result.stdout

    def copy_dir(self, src: Path, remote_dir: str, method: CopyMethod, timeout: float) -> None:
        """Copy the contents of ``src`` into ``remote_dir`` (created by the copy; its parent
        must exist)."""
        if method == "rsync" or (method == "auto" and shutil.which("rsync")):
            result = self._rsync(src, remote_dir, timeout)
            missing = result.returncode == 12 and "not found" in result.stderr
            if result.returncode == 0:
                return
            if not (missing and method == "auto"):
                raise TransportError(f"{self.target}: rsync failed (exit "
                                     f"{result.returncode}): {tail(result.stderr)}")
            log.info("%s: no rsync on the target; copying with scp", self.target)
        result = self._scp(src, remote_dir, timeout)
        if result.returncode != 0:
            raise TransportError(f"{self.target}: scp failed (exit {result.returncode}): "
                                 f"{tail(result.stderr)}")

    def close(self) -> None:
        """Stop the shared connection's master, if one was started."""
        if self.control_path:
            subprocess.run([*self.ssh_argv(), "-O", "exit", self.target.login],
                           capture_output=True, timeout=30)

    def _rsync(self, src: Path, remote_dir: str,
               timeout: float) -> subprocess.CompletedProcess:
        argv = ["rsync", "-a", "--delete", "-e", shlex.join(self.ssh_argv()),
                f"{src}/", f"{self.target.copy_login}:{remote_dir}/"]
        return _run(argv, timeout, self.target)

    def _scp(self, src: Path, remote_dir: str, timeout: float) -> subprocess.CompletedProcess:
        port = ["-P", str(self.target.port)] if self.target.port else []
        argv = ["scp", "-r", "-q", *port, *self._opts(), str(src),
                f"{self.target.copy_login}:{remote_dir}"]
        return _run(argv, timeout, self.target)


@contextmanager
def shared_connection(ssh: Ssh) -> Iterator[Ssh]:
    """``ssh`` with connection sharing for the block; the master is stopped after it."""
    with tempfile.TemporaryDirectory(prefix="specks-ssh-") as folder:
        shared = replace(ssh, control_path=f"{folder}/%C")
        try:
            yield shared
        finally:
            shared.close()


def _run(argv: list[str], timeout: float, target: SshTarget) -> subprocess.CompletedProcess:
    log.debug("run %s", shlex.join(argv))
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TransportError(f"{target}: {argv[0]} took over {timeout:.0f} s") from None
    except FileNotFoundError:
        raise TransportError(f"{argv[0]} is not installed here (apt install "
                             "openssh-client rsync)") from None


def tail(text: str, lines: int = 3) -> str:
    """The last non-empty lines of a tool's stderr, for an error message."""
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(no message)"


def safe_name(name: str) -> str:
    """A bundle name made safe for a remote path."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "bundle"


def remote_join(*parts: str) -> str:
    return str(PurePosixPath(*parts))
