"""``udp``: one JSON datagram per message, fire and forget.

For a receiver on the same LAN (a dashboard, a robot controller) that wants the newest
detections with the least latency and no broker. UDP gives no delivery guarantee: a datagram
the network or the receiver drops is gone, and one larger than ``max_datagram`` is not sent at
all (counted as ``oversize``) rather than fragmented into pieces a lossy link would lose
anyway. Send errors (no route, ICMP port unreachable reported by the kernel) are counted as
``errors`` and logged once, never raised into the pipeline. The address is resolved on the
first send, not at construction or import.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from firmware_py.sinks import Sink, SinkConfig, register_sink
from firmware_py.sinks.message import DetectionMessage, dumps, stats_payload

log = logging.getLogger(__name__)

MAX_UDP_PAYLOAD = 65507  # 65535 - 8 (UDP header) - 20 (IPv4 header)


class UdpConfig(SinkConfig):
    type: Literal["udp"] = "udp"
    host: str = Field("127.0.0.1", min_length=1, max_length=253,
                      description="receiver host name or address (IPv4 or IPv6)")
    port: int = Field(5005, ge=1, le=65535, description="receiver UDP port")
    broadcast: bool = Field(False, description="allow a broadcast address as host")
    max_datagram: int = Field(MAX_UDP_PAYLOAD, ge=512, le=MAX_UDP_PAYLOAD,
                              description="larger payloads are dropped and counted")


@register_sink
class UdpSink(Sink):
    key = "udp"
    config_cls = UdpConfig
    config: UdpConfig

    def __init__(self, config: UdpConfig) -> None:
        super().__init__(config)
        self._sock: socket.socket | None = None
        self._address: tuple[Any, ...] | None = None
        self.sent = 0
        self.oversize = 0
        self.errors = 0

    def publish_detections(self, message: DetectionMessage) -> None:
        self._send(message.to_json())

    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        self._send(dumps(stats_payload(stats)))

    def _send(self, payload: bytes) -> None:
        if len(payload) > self.config.max_datagram:
            self.oversize += 1
            log.warning("udp: %d-byte message over max_datagram %d, dropped",
                        len(payload), self.config.max_datagram)
            return
        try:
            sock, address = self._socket()
            sock.sendto(payload, address)
        except OSError as e:
            self.errors += 1
            if self.errors == 1:
                log.warning("udp: send to %s:%d failed: %s", self.config.host,
                            self.config.port, e)
            return
        self.sent += 1

    def _socket(self) -> tuple[socket.socket, tuple[Any, ...]]:
        if self._sock is None or self._address is None:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.config.host, self.config.port, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(family, kind, proto)
            if self.config.broadcast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            self._sock, self._address = sock, address
        return self._sock, self._address

    def counters(self) -> dict[str, int]:
        return {"sent": self.sent, "oversize": self.oversize, "errors": self.errors}

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
