"""Where the lane runs a ``specks`` command: the arm64 root under one emulated core, or the
x86 device venv (the reference). Both run the same staged files through ``probe.py``.

The arm64 commands go through ``chroot`` with a clean environment; ``QEMU_CPU`` in that
environment pins qemu-user's emulated CPU (qemu reads it at every exec), so the aarch64
wheels see the board core's features (its ``AT_HWCAP`` bits) and XNNPACK picks the kernels
that core would run. The staged folder is the same host directory for both targets, seen as
``guest_dir`` from inside the root.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CLEAN_ENV = ("PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8")


@dataclass(frozen=True)
class Outcome:
    """One command's exit code, output and ``probe.py`` record (None if it never wrote one)."""

    rc: int
    stdout: str
    stderr: str
    record: dict[str, Any] | None

    def last_json(self) -> dict[str, Any] | None:
        """The JSON object on the last line of stdout (``--json`` commands), if any."""
        lines = self.stdout.strip().splitlines()
        try:
            return json.loads(lines[-1]) if lines else None
        except json.JSONDecodeError:
            return None

    def error(self) -> str:
        """The last line of stderr: what a failed command said."""
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {self.rc}"


@dataclass(frozen=True)
class Target:
    name: str  # "x86" or the emulated core, e.g. "cortex-a53"
    prefix: tuple[str, ...]  # argv that starts the venv's python there
    host_dir: Path  # the staged files on the host
    guest_dir: str  # the same folder as the command sees it

    @classmethod
    def arm64(cls, root: Path, guest_dir: str, core: str) -> Target:
        python = f"{guest_dir}/venv/bin/python"
        return cls(core, ("chroot", str(root), "/usr/bin/env", "-i", *CLEAN_ENV,
                          f"QEMU_CPU={core}", python),
                   root / guest_dir.lstrip("/"), guest_dir)

    @classmethod
    def x86(cls, venv: Path, staged: Path) -> Target:
        return cls("x86", ("env", "-i", *CLEAN_ENV, str(venv.resolve() / "bin" / "python")),
                   staged, str(staged.resolve()))

    def path(self, relative: str) -> str:
        """A staged file's path as the command sees it."""
        return f"{self.guest_dir}/{relative}"

    def python(self, code: str, timeout_s: float = 600.0) -> str:
        """The stdout of ``python -c CODE`` in the target's venv."""
        done = subprocess.run([*self.prefix, "-c", code], capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL, check=True)
        return done.stdout

    def specks(self, args: list[str], record: str, timeout_s: float = 1800.0) -> Outcome:
        """Run ``specks ARGS`` through the probe; its record goes to ``out/<record>.json``."""
        relative = f"out/{self.name}/{record}.json"
        (self.host_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (self.host_dir / relative).unlink(missing_ok=True)
        argv = [*self.prefix, self.path("probe.py"), self.path(relative), "--", *args]
        log.debug("%s: %s", self.name, " ".join(argv))
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL, check=False)
        file = self.host_dir / relative
        record_data = json.loads(file.read_text()) if file.exists() else None
        return Outcome(done.returncode, done.stdout, done.stderr, record_data)
