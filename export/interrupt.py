"""Interrupted exports leave nothing behind.

Ctrl-C raises ``KeyboardInterrupt``, so ``finally`` clauses (``export.bundle.staging``) remove
their temp folders. SIGTERM and SIGHUP, at their default action, end the process at once and
skip them; ``terminate_raises`` turns them into ``Terminated``, a ``SystemExit`` whose code is
128 + the signal (the status a shell reports for it), while it is active. Python runs signal
handlers in the main thread between bytecodes, so a signal that arrives inside a long native
call (a litert-torch conversion) takes effect when that call returns. Handlers someone else
installed are left alone, and outside the main thread nothing changes (``signal.signal``
works only there).

SIGKILL cannot be caught: ``stale_siblings`` finds the temp folders such a process left
(their names carry the writer's pid) so the next export removes them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(SystemExit):
    """SIGTERM or SIGHUP arrived inside ``terminate_raises``; ``code`` is 128 + the signal."""


def _exit(signum: int, _: FrameType | None) -> None:
    raise Terminated(128 + signum)


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise ``SystemExit`` (see the module docstring)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _exit) for sig in SIGNALS
                if signal.getsignal(sig) is signal.SIG_DFL}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def temp_prefix(name: str) -> str:
    """The prefix of this process's temp entries for ``name``: ``.<name>.<pid>.``."""
    return f".{name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_siblings(dest: Path) -> list[Path]:
    """Temp entries beside ``dest`` (``.<name>.<pid>.*.tmp`` / ``.old``) whose writer is gone."""
    pattern = re.compile(rf"\.{re.escape(dest.name)}\.(\d+)\..*\.(tmp|old)")
    if not dest.parent.is_dir():
        return []
    stale = []
    for path in dest.parent.iterdir():
        match = pattern.fullmatch(path.name)
        if match and not _alive(int(match.group(1))):
            stale.append(path)
    return stale
