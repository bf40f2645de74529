"""The MQTT sink against a real mosquitto on loopback (fixtures in conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_py.sinks import create_sink
from firmware_py.sinks.message import DetectionMessage
from firmware_py.sinks.mqtt import MqttConfig, MqttSink
from firmware_py.sinks.stamp import RunStamp
from firmware_py.telemetry import Telemetry, TelemetryEmitter, read_stats

REPO = Path(__file__).resolve().parents[3]


def make_sink(tmp_path: Path, port: int, **overrides: Any) -> MqttSink:
    fields = {"type": "mqtt", "port": port, "device": "cam1", "reconnect_min_s": 0.05,
              "reconnect_max_s": 0.2, "keepalive_s": 5, "connect_timeout_s": 2.0,
              "spool_path": str(tmp_path / "spool.sqlite3"), "flush_timeout_s": 2.0}
    sink = create_sink({**fields, **overrides})
    assert isinstance(sink, MqttSink)
    return sink


def frame(i: int, stamp: RunStamp | None = None) -> DetectionMessage:
    run_id, seq = (stamp.run_id, stamp.next()) if stamp else ("", 0)
    return DetectionMessage("cam1", i, 1700000000.0 + i / 30, 3, 12, [[i, 2, i + 10, 20]],
                            [0.9], [0], ("bird",), run_id=run_id, seq=seq)


def frame_ids(messages: list[Any]) -> list[int]:
    return [json.loads(m.payload)["frame_id"] for m in messages]


def first_seen(ids: list[int]) -> list[int]:
    """Deduplicate (QoS 1 is at-least-once), keeping first arrivals in arrival order."""
    return list(dict.fromkeys(ids))


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_detections_arrive_with_qos1_and_availability_online(tmp_path, mosquitto, collector):
    sub = collector(mosquitto.sub_port)
    with make_sink(tmp_path, mosquitto.port) as sink:
        for i in range(5):
            sink.publish_detections(frame(i))
        sink.publish_stats({"camera_fps": np.float32(29.97)})
        wait_for(lambda: len(sub.on("/detections")) == 5 and sub.on("/stats"), what="messages")
        online = wait_for(lambda: sub.on("/availability"), what="availability")
        wait_for(lambda: sink.counters()["delivered"] == 6, what="6 acknowledgements")
        assert len(sink.spool) == 0
    detections = sub.on("cam1/detections")
    assert [m.topic for m in detections] == ["specks/cam1/detections"] * 5
    assert all(m.qos == 1 for m in detections)  # delivered QoS = min(publish, subscribe)
    assert frame_ids(detections) == [0, 1, 2, 3, 4]
    assert DetectionMessage.from_dict(json.loads(detections[2].payload)).boxes.tolist() == \
        [[2.0, 2.0, 12.0, 20.0]]
    stats = json.loads(sub.on("cam1/stats")[0].payload)
    assert stats["kind"] == "stats" and stats["camera_fps"] == pytest.approx(29.97)
    assert stats["mqtt"]["dropped"] == 0
    assert online[0].payload == b"online"
    # a clean close leaves "offline" retained, so a late subscriber learns the state at once
    late = collector(mosquitto.sub_port)
    retained = wait_for(lambda: late.on("/availability"), what="retained availability")
    assert retained[0].payload == b"offline" and retained[0].retain


PUBLISHER = textwrap.dedent("""
    import sys, time
    from firmware_py.sinks.mqtt import MqttConfig, MqttSink
    sink = MqttSink(MqttConfig(port=int(sys.argv[1]), device="cam1", spool_path=sys.argv[2],
                               reconnect_min_s=0.05, keepalive_s=5))
    while not sink.connected:
        time.sleep(0.01)
    print("connected", flush=True)
    time.sleep(60)
""")


def test_last_will_marks_a_killed_publisher_offline(tmp_path, mosquitto, collector):
    sub = collector(mosquitto.sub_port)
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(mosquitto.port),
                             str(tmp_path / "spool.sqlite3")], cwd=REPO, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"connected\n"
        wait_for(lambda: [m for m in sub.on("/availability") if m.payload == b"online"],
                 what="online")
        os.kill(proc.pid, signal.SIGKILL)  # no DISCONNECT packet: the broker sends the will
        proc.wait(5)
        wait_for(lambda: [m for m in sub.on("/availability") if m.payload == b"offline"],
                 what="last will")
    finally:
        proc.kill()
        proc.wait(5)
    late = collector(mosquitto.sub_port)
    retained = wait_for(lambda: late.on("/availability"), what="retained will")
    assert retained[0].payload == b"offline" and retained[0].retain


def test_broker_killed_mid_stream_loses_nothing_and_keeps_order(tmp_path, mosquitto, collector):
    before = collector(mosquitto.sub_port)
    sink = make_sink(tmp_path, mosquitto.port)
    try:
        for i in range(10):
            sink.publish_detections(frame(i))
        wait_for(lambda: len(before.on("/detections")) == 10, what="first 10")
        # the subscriber can see a message before its PUBACK reaches the sink
        wait_for(lambda: sink.counters()["delivered"] == 10, what="first 10 acknowledged")
        mosquitto.pause()  # frozen broker: the next 10 go out but are never acknowledged
        for i in range(10, 20):
            sink.publish_detections(frame(i))
        wait_for(lambda: sink.counters()["unacked"] == 10, what="10 unacknowledged")
        assert sink.counters()["delivered"] == 10 and len(sink.spool) == 10
        mosquitto.kill()
        wait_for(lambda: not sink.connected, what="sink to notice")
        for i in range(20, 30):  # the broker is gone: these go to the spool only
            sink.publish_detections(frame(i))
        assert len(sink.spool) == 20
        mosquitto.start(admit_sink=False)
        after = collector(mosquitto.sub_port)
        mosquitto.admit_sink()
        for i in range(30, 40):
            sink.publish_detections(frame(i))
        wait_for(lambda: set(frame_ids(after.on("/detections"))) >= set(range(10, 40)),
                 what="replay")
        wait_for(lambda: len(sink.spool) == 0, what="spool to drain")
        assert sink.counters()["dropped"] == 0 and sink.counters()["connects"] == 2
    finally:
        sink.close()
    ids = frame_ids(before.on("/detections")) + frame_ids(after.on("/detections"))
    assert first_seen(ids) == list(range(40))


@pytest.mark.parametrize("resend_acked", [100, 3])
def test_what_a_killed_broker_acknowledged_but_never_delivered_is_sent_again(
        tmp_path, mosquitto, collector, resend_acked):
    # no subscriber in the first life: the broker acknowledges 0-4 and delivers them to nobody,
    # as a broker killed before it forwarded its queue does
    sink = make_sink(tmp_path, mosquitto.port, resend_acked=resend_acked)
    try:
        for i in range(5):
            sink.publish_detections(frame(i))
        wait_for(lambda: sink.counters()["delivered"] == 5, what="5 acknowledged")
        mosquitto.kill()
        wait_for(lambda: not sink.connected, what="sink to notice")
        mosquitto.start(admit_sink=False)
        sub = collector(mosquitto.sub_port)
        mosquitto.admit_sink()
        for i in range(5, 8):
            sink.publish_detections(frame(i))
        wait_for(lambda: 7 in frame_ids(sub.on("/detections")), what="the new messages")
    finally:
        sink.close()
    kept = min(resend_acked, 5)
    assert frame_ids(sub.on("/detections")) == list(range(5 - kept, 8))
    assert sink.counters()["resent"] == kept


def test_spool_survives_a_restart_of_the_sink(tmp_path, mosquitto, collector):
    mosquitto.kill()  # no broker: everything stays in the spool
    sink = make_sink(tmp_path, mosquitto.port, flush_timeout_s=0.0)
    for i in range(5):
        sink.publish_detections(frame(i))
    sink.close()
    assert len(sink.spool) == 5
    mosquitto.start()
    sub = collector(mosquitto.sub_port)
    with make_sink(tmp_path, mosquitto.port) as again:
        assert len(again.spool) == 5
        again.publish_detections(frame(5))
        wait_for(lambda: len(sub.on("/detections")) == 6, what="replay after restart")
    assert frame_ids(sub.on("/detections")) == list(range(6))


def test_a_spooled_message_keeps_the_run_id_and_seq_of_the_run_that_made_it(
        tmp_path, mosquitto, collector):
    mosquitto.kill()
    run_a, run_b = RunStamp(), RunStamp()
    sink = make_sink(tmp_path, mosquitto.port, flush_timeout_s=0.0)
    for i in range(3):
        sink.publish_detections(frame(i, run_a))
    TelemetryEmitter(Telemetry(), [sink], None, stamp=run_a).emit(1.0)
    sink.close()  # run A ends with its 4 messages on disk
    mosquitto.start()
    sub = collector(mosquitto.sub_port)
    with make_sink(tmp_path, mosquitto.port) as again:  # run B replays them
        for i in range(2):
            again.publish_detections(frame(i, run_b))
        wait_for(lambda: len(sub.on("/detections")) == 5 and sub.on("/stats"), timeout=30.0,
                 what="replay")
    got = [json.loads(m.payload) for m in sub.on("/detections")]
    assert [(p["run_id"], p["seq"], p["frame_id"]) for p in got] == [
        (run_a.run_id, 0, 0), (run_a.run_id, 1, 1), (run_a.run_id, 2, 2),
        (run_b.run_id, 0, 0), (run_b.run_id, 1, 1)]  # frame ids collide, (run_id, seq) not
    stats = json.loads(sub.on("/stats")[0].payload)
    assert (stats["run_id"], stats["seq"]) == (run_a.run_id, 3)


def test_stats_carry_the_connection_state_and_the_spool_depth(tmp_path, mosquitto, collector):
    sink = make_sink(tmp_path, mosquitto.port)
    emitter = TelemetryEmitter(Telemetry(), [sink], tmp_path / "stats.jsonl")
    records = []
    try:
        wait_for(lambda: sink.connected, what="connection")
        records.append(emitter.emit(1.0))
        wait_for(lambda: sink.counters()["delivered"] == 1, what="the first stats delivered")
        mosquitto.kill()
        wait_for(lambda: not sink.connected, what="the sink to notice")
        for i in range(4):
            sink.publish_detections(frame(i))
        records.append(emitter.emit(2.0))  # during the outage
        mosquitto.start(admit_sink=False)
        sub = collector(mosquitto.sub_port)
        mosquitto.admit_sink()
        wait_for(lambda: len(sink.spool) == 0, timeout=30.0, what="the replay")
        records.append(emitter.emit(3.0))
        wait_for(lambda: len(sub.on("/stats")) == 3, timeout=30.0,
                 what="the acknowledged one sent again, the replayed and the new stats")
    finally:
        sink.close()
        emitter.close()
    states = [("connected", 0), ("disconnected", 4), ("connected", 0)]  # 4 detections waiting
    assert [(r["mqtt_state"], r["spool_depth"]) for r in records] == states
    assert [(r["mqtt_state"], r["spool_depth"]) for r in read_stats(tmp_path / "stats.jsonl")] \
        == states
    published = [json.loads(m.payload) for m in sub.on("/stats")]
    assert [(p["seq"], p["mqtt_state"], p["spool_depth"]) for p in published] == [
        (0, "connected", 0), (1, "disconnected", 4), (2, "connected", 0)]


def test_full_spool_drops_oldest_and_reports_it(tmp_path, mosquitto, collector):
    mosquitto.kill()
    sink = make_sink(tmp_path, mosquitto.port, spool_max_messages=3)
    try:
        for i in range(5):
            sink.publish_detections(frame(i))
        assert sink.counters()["dropped"] == 2 and len(sink.spool) == 3
        mosquitto.start(admit_sink=False)
        sub = collector(mosquitto.sub_port)
        mosquitto.admit_sink()
        wait_for(lambda: len(sub.on("/detections")) == 3, what="the 3 kept")
        sink.publish_stats({})
        wait_for(lambda: sub.on("/stats"), what="stats")
    finally:
        sink.close()
    assert frame_ids(sub.on("/detections")) == [2, 3, 4]
    assert json.loads(sub.on("/stats")[0].payload)["mqtt"]["dropped"] == 2


def test_config_rejects_unknown_fields_and_bad_topics():
    with pytest.raises(ValueError):
        MqttConfig(hots="x")
    with pytest.raises(ValueError):
        MqttConfig(device="a/b")
    assert MqttConfig(device="cam7").topics["availability"] == "specks/cam7/availability"
