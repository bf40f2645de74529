"""A real OpenSSH server on 127.0.0.1 for tests and benchmarks: generated host and user keys,
an sshd_config in a temp folder, ``sshd -D -e`` on a free high port, and a client config for
``ssh -F`` so the user's own ~/.ssh is never read or written.

sshd options per sshd_config(5); the client config pins the host key (``StrictHostKeyChecking
yes`` with a generated known_hosts), so a wrong server would be refused as in real use.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "specks-test",
                    "-f", str(path)], check=True)


class Sshd:
    """``with Sshd(folder) as server:`` runs sshd until the block ends."""

    def __init__(self, folder: Path, user: str = "root") -> None:
        self.folder = Path(folder)
        self.user = user
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.client_config = self.folder / "ssh_config"

    def url(self, path: str | Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def _write_configs(self) -> Path:
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        _keygen(f / "host_key")
        _keygen(f / "user_key")
        shutil.copy(f / "user_key.pub", f / "authorized_keys")
        config = f / "sshd_config"
        config.write_text(f"""ListenAddress 127.0.0.1
Port {self.port}
HostKey {f / 'host_key'}
AuthorizedKeysFile {f / 'authorized_keys'}
PidFile {f / 'sshd.pid'}
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
MaxStartups 64:30:128
MaxSessions 64
Subsystem sftp /usr/lib/openssh/sftp-server
""")
        host_pub = (f / "host_key.pub").read_text().split()[:2]
        (f / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {' '.join(host_pub)}\n")
        self.client_config.write_text(f"""Host *
  IdentityFile {f / 'user_key'}
  IdentitiesOnly yes
  UserKnownHostsFile {f / 'known_hosts'}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
""")
        return config

    def ssh(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ssh", "-F", str(self.client_config), "-p", str(self.port),
                               f"{self.user}@127.0.0.1", command], capture_output=True,
                              text=True, timeout=30)

    def __enter__(self) -> Sshd:
        config = self._write_configs()
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege-separation dir
        self._log = open(self.folder / "sshd.log", "w")  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()}")
            if self.ssh("true").returncode == 0:
                return self
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"sshd did not accept a login: "
                                   f"{(self.folder / 'sshd.log').read_text()}")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._log.close()
