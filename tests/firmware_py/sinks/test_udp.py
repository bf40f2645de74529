"""The UDP sink on loopback."""

from __future__ import annotations

import json
import socket

from firmware_py.sinks import create_sink
from firmware_py.sinks.message import DetectionMessage
from firmware_py.sinks.udp import UdpConfig, UdpSink


def test_datagrams_arrive_on_loopback():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2.0)
        with create_sink({"type": "udp", "port": rx.getsockname()[1]}) as sink:
            sink.publish_detections(DetectionMessage("cam1", 7, 1.5, 2, 9, [[1, 2, 3, 4]],
                                                     [0.75], [1], ("car",)))
            sink.publish_stats({"inference_fps": 12.5})
            first, second = json.loads(rx.recv(65535)), json.loads(rx.recv(65535))
        assert first["frame_id"] == 7 and first["labels"] == ["car"]
        assert first["boxes"] == [[1.0, 2.0, 3.0, 4.0]] and first["tiles_total"] == 9
        assert second == {"kind": "stats", "inference_fps": 12.5}
        assert sink.counters()["sent"] == 2


def test_oversize_messages_are_dropped_and_counted():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(0.2)
        sink = UdpSink(UdpConfig(port=rx.getsockname()[1], max_datagram=512))
        boxes = [[0, 0, 1, 1]] * 100
        sink.publish_detections(DetectionMessage("cam1", 0, 0.0, 1, 1, boxes, [0.5] * 100,
                                                 [0] * 100, ("a",) * 100))
        sink.publish_stats({"ok": 1})
        assert json.loads(rx.recv(65535)) == {"kind": "stats", "ok": 1}  # only the small one
        assert sink.counters() == {"sent": 1, "oversize": 1, "errors": 0}
        sink.close()


def test_send_errors_are_counted_not_raised():
    # the kernel refuses a broadcast destination (EACCES) unless SO_BROADCAST is set
    sink = UdpSink(UdpConfig(host="255.255.255.255", broadcast=False))
    sink.publish_stats({"x": 1})
    sink.publish_stats({"x": 2})
    assert sink.counters() == {"sent": 0, "oversize": 0, "errors": 2}
    sink.close()
