"""The service side of systemd's notify protocol (sd_notify(3), sd_watchdog_enabled(3)), for
``specks.service`` (``Type=notify``, ``WatchdogSec=``, ``NotifyAccess=main``).

Protocol: each notification is one datagram of newline-separated ``KEY=VALUE`` lines sent to
the ``AF_UNIX`` socket named by ``$NOTIFY_SOCKET``: a path, or an abstract name when it starts
with ``@`` (the ``@`` stands for the leading NUL byte). The pipeline sends ``READY=1`` once
its loop runs, ``WATCHDOG=1`` from the frame loop, ``STATUS=`` with the status line, and
``STOPPING=1`` as it exits. The watchdog is on when ``$WATCHDOG_USEC`` is set and
``$WATCHDOG_PID`` is unset or this process; it is fed at most every half interval (the man
page's advice), and only from the loop: a hung loop stops feeding it and systemd restarts the
service, which a feeding thread would hide.

Without ``$NOTIFY_SOCKET`` (not under systemd) every call does nothing. A send that fails is
logged once and never stops the pipeline. Hand-written rather than a dependency: the protocol
is a few lines, and the ``systemd`` Python bindings need libsystemd's headers to build.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Notifications to systemd; a no-op without ``$NOTIFY_SOCKET``."""

    def __init__(self, address: str | None, watchdog_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.address = address
        self.watchdog_s = watchdog_s
        self.clock = clock
        self.sent = 0
        self._last_feed: float | None = None
        self._failed = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        """The notifier systemd set up for this process (sd_notify(3),
        sd_watchdog_enabled(3))."""
        address = environ.get("NOTIFY_SOCKET") or None
        if address is not None and address[0] not in "/@":
            log.warning("NOTIFY_SOCKET %r is neither a path nor an abstract socket; not "
                        "notifying systemd", address)
            address = None
        return cls(address, watchdog_interval(environ))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, **fields: object) -> bool:
        """Send one datagram of ``KEY=VALUE`` lines (``notify(READY=1, STATUS="...")``)."""
        if self.address is None:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, target)
        except OSError as e:
            if not self._failed:
                log.warning("sd_notify to %s failed: %s", self.address, e)
            self._failed = True
            return False
        self._failed = False
        self.sent += 1
        return True

    def ready(self) -> None:
        self.notify(READY=1, STATUS="running")

    def status(self, text: str) -> None:
        self.notify(STATUS=text.replace("\n", " "))

    def stopping(self) -> None:
        self.notify(STOPPING=1)

    def watchdog(self) -> None:
        """Feed the watchdog if it is on and half its interval has passed since the last
        feed; call once per loop iteration."""
        if self.watchdog_s is None or self.address is None:
            return
        now = self.clock()
        if self._last_feed is None or now - self._last_feed >= self.watchdog_s / 2:
            self._last_feed = now
            self.notify(WATCHDOG=1)


def watchdog_interval(environ: Mapping[str, str] = os.environ) -> float | None:
    """The watchdog interval in seconds if systemd watches this process, else None."""
    usec, pid = environ.get("WATCHDOG_USEC"), environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1e6
