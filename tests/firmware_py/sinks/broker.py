"""A real mosquitto broker on loopback, started and killed by the tests, and a paho subscriber
that records what arrives (the fixtures are in conftest.py).

The broker has two listeners: ``port`` for the sink under test and ``sub_port`` for the
subscriber. ``per_listener_settings`` lets a restart refuse the sink (``allow_anonymous
false`` on its listener) until the subscriber has subscribed again, then admit it with a
config reload (SIGHUP): a broker without persistence forgets subscriptions when it dies, and a
replay that reached the broker before the subscriber came back would be delivered to nobody.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from tests.required import required_tool

CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


def find_mosquitto() -> str:
    return required_tool("mosquitto", "apt-get install mosquitto", CANDIDATES)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Broker:
    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.sub_port = free_port()
        self.config = folder / "mosquitto.conf"
        self.proc: subprocess.Popen[bytes] | None = None

    def _write_config(self, admit_sink: bool) -> None:
        self.config.write_text(
            # run as whoever runs the tests: as root, mosquitto would drop to user 'mosquitto',
            # which cannot read the config in pytest's private tmp_path on a reload
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            "per_listener_settings true\npersistence false\nlog_dest stderr\n"
            + self.sink_listener(admit_sink) +
            f"listener {self.sub_port} 127.0.0.1\nallow_anonymous true\n")

    def sink_listener(self, admit_sink: bool) -> str:
        """The config of the sink's listener (``port``)."""
        return f"listener {self.port} 127.0.0.1\nallow_anonymous {str(admit_sink).lower()}\n"

    def start(self, admit_sink: bool = True) -> None:
        self._write_config(admit_sink)
        log = (self.folder / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        for port in (self.port, self.sub_port):
            wait_for(lambda port=port: _accepts(port), what=f"mosquitto on port {port}")

    def log_has(self, text: str) -> bool:
        """The broker's log mentions ``text``."""
        path = self.folder / "mosquitto.log"
        return path.is_file() and text in path.read_text(errors="replace")

    def admit_sink(self) -> None:
        assert self.proc is not None
        self._write_config(True)
        self.proc.send_signal(signal.SIGHUP)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


class Collector:
    """A paho subscriber to ``specks/#`` at QoS 1 that records ``(topic, payload, qos,
    retain)`` of every message, and in ``dropped`` the reason of each disconnection (it does
    not reconnect)."""

    def __init__(self, port: int, topic: str = "specks/#") -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.dropped: list[str] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, reconnect_on_failure=False)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_disconnect = lambda c, u, f, reason, p: self.dropped.append(str(reason))
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.connect("127.0.0.1", port, keepalive=5)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise AssertionError("subscriber got no SUBACK")

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def on(self, suffix: str) -> list[mqtt.MQTTMessage]:
        with self._lock:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
