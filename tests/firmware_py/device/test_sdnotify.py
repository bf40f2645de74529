"""sd_notify(3) from the service side: datagrams on a real AF_UNIX socket (a path and an
abstract name), the watchdog's environment (sd_watchdog_enabled(3)) and its feeding rate."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_py.device.sdnotify import Notifier, watchdog_interval


class Listener:
    """What systemd does with NOTIFY_SOCKET: a datagram socket it reads."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(5)

    def messages(self, n: int) -> list[dict[str, str]]:
        out = []
        for _ in range(n):
            lines = self.sock.recv(4096).decode().split("\n")
            out.append(dict(line.split("=", 1) for line in lines))
        return out

    def empty(self) -> bool:
        self.sock.settimeout(0.05)
        try:
            self.sock.recv(4096)
        except TimeoutError:
            return True
        return False


@pytest.fixture(params=["abstract", "path"])
def listener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Listener]:
    address = f"@specks-test-{uuid.uuid4().hex}" if request.param == "abstract" \
        else str(tmp_path / "notify.sock")
    made = Listener(address)
    yield made
    made.sock.close()


def test_ready_status_and_stopping_reach_the_socket(listener: Listener) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": listener.address})
    notifier.ready()
    notifier.status("12.0 fps\nsecond line")
    notifier.stopping()
    assert listener.messages(3) == [{"READY": "1", "STATUS": "running"},
                                    {"STATUS": "12.0 fps second line"}, {"STOPPING": "1"}]


def test_the_watchdog_is_fed_at_most_every_half_interval(listener: Listener) -> None:
    now = [100.0]
    env = {"NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "2000000"}
    notifier = Notifier(listener.address, watchdog_interval(env), clock=lambda: now[0])
    for t in (100.0, 100.5, 100.99, 101.0, 101.2, 102.1):
        now[0] = t
        notifier.watchdog()
    assert listener.messages(3) == [{"WATCHDOG": "1"}] * 3  # at 100, 101 and 102.1
    assert listener.empty()


def test_watchdog_environment_per_sd_watchdog_enabled() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) \
        == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None and watchdog_interval({"WATCHDOG_USEC": "0"}) is None


def test_without_systemd_nothing_is_sent_and_a_dead_socket_never_raises(tmp_path) -> None:
    quiet = Notifier.from_environment({})
    assert not quiet.enabled and quiet.notify(READY=1) is False
    gone = Notifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "nobody.sock"),
                                      "WATCHDOG_USEC": "1000000"})
    gone.ready()
    gone.watchdog()
    assert gone.enabled and gone.sent == 0
    assert not Notifier.from_environment({"NOTIFY_SOCKET": "relative.sock"}).enabled
