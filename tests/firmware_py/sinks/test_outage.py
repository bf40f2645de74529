"""Broker outages logged once when they start and once when they end: the state machine on a
virtual clock, then the MQTT sink against a real mosquitto killed for several reconnect
attempts."""

from __future__ import annotations

import logging

import pytest

from firmware_py.sinks.outage import Outage
from tests.firmware_py.sinks.broker import wait_for
from tests.firmware_py.sinks.test_mqtt import frame, make_sink

LOGGER = "firmware_py.sinks.mqtt"


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.INFO]


def test_many_failed_attempts_give_one_warning_and_the_replay_one_info(caplog) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    clock = Clock()
    outage = Outage("10.0.0.9:1883", "spool/mqtt.sqlite3", clock)
    outage.lost(queued=4, unacked=2, dropped=0)
    for attempt in range(6):
        clock.t += 2.0
        outage.failed(f"cannot connect: attempt {attempt}", queued=5 + attempt, dropped=0)
    clock.t += 0.5
    outage.reconnected((3, 12), dropped=1)
    assert outage.active
    outage.delivered([3, 4, 5, 6], (7, 12), dropped=1)
    clock.t += 1.5
    outage.delivered([7, 8, 9, 10, 11, 12, 13], (14, 14), dropped=1)
    assert not outage.active
    (start, end) = loud(caplog)
    assert start.levelno == logging.WARNING and "10.0.0.9:1883" in start.getMessage()
    assert "lost the connection (2 unacknowledged" in start.getMessage()
    assert "spool/mqtt.sqlite3 (4 queued)" in start.getMessage()
    assert end.levelno == logging.INFO and end.getMessage() == (
        "mqtt: broker 10.0.0.9:1883 back after 12.5 s; replayed 10 spooled messages in 1.5 s; "
        "the full spool dropped 1 meanwhile")
    assert sum("still unreachable" in r.getMessage() for r in caplog.records) == 6


def test_a_link_lost_during_the_replay_continues_the_same_outage(caplog) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    clock = Clock()
    outage = Outage("b:1883", "s", clock)
    outage.failed("cannot connect: refused", queued=3, dropped=0)  # down when the sink starts
    clock.t += 5.0
    outage.reconnected((1, 3), dropped=0)
    outage.delivered([1], (2, 3), dropped=0)
    outage.lost(queued=2, unacked=1, dropped=0)
    outage.failed("cannot connect: refused", queued=3, dropped=0)
    clock.t += 5.0
    outage.reconnected((2, 4), dropped=0)
    outage.delivered([2, 3, 4], None, dropped=0)
    (start, end) = loud(caplog)
    assert "is away: cannot connect: refused" in start.getMessage()
    assert "back after 10.0 s; replayed 4 spooled messages in 0.0 s" in end.getMessage()
    assert "dropped" not in end.getMessage()


def test_an_empty_spool_ends_the_outage_at_the_reconnection(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    clock = Clock()
    outage = Outage("b:1883", "s", clock)
    outage.lost(queued=0, unacked=0, dropped=0)
    clock.t += 3.0
    outage.reconnected(None, dropped=0)
    assert not outage.active
    assert "back after 3.0 s; replayed 0 spooled messages" in loud(caplog)[-1].getMessage()


def test_a_broker_that_answers_no_is_warned_about_once_per_reason(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    outage = Outage("b:1883", "s", Clock())
    outage.lost(queued=0, unacked=0, dropped=0)
    for _ in range(3):
        outage.failed("cannot connect: refused", queued=0, dropped=0)
        outage.failed("refused the connection: Not authorized", 0, 0, refusal=True)
    warnings = [r.getMessage() for r in loud(caplog)]
    assert len(warnings) == 2 and warnings[1].endswith("refused the connection: Not authorized")


def test_a_real_broker_down_for_several_attempts_is_logged_once_each_way(
        tmp_path, mosquitto, caplog) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    sink = make_sink(tmp_path, mosquitto.port)
    try:
        for i in range(3):
            sink.publish_detections(frame(i))
        wait_for(lambda: sink.counters()["delivered"] == 3, what="3 acknowledged")
        before = len(loud(caplog))
        mosquitto.kill()
        wait_for(lambda: not sink.connected, what="the sink to notice")
        for i in range(3, 8):
            sink.publish_detections(frame(i))
        wait_for(lambda: sum("still unreachable" in r.getMessage() for r in caplog.records)
                 >= 4, timeout=30.0, what="4 failed reconnect attempts")
        assert len(sink.spool) == 5
        mosquitto.start()
        wait_for(lambda: any("back after" in r.getMessage() for r in caplog.records),
                 timeout=30.0, what="the end of the outage")
        assert len(sink.spool) == 0
    finally:
        sink.close()
    during = loud(caplog)[before:]
    assert [r.levelno for r in during] == [logging.WARNING, logging.INFO], \
        [r.getMessage() for r in during]
    assert f"broker 127.0.0.1:{mosquitto.port} is away" in during[0].getMessage()
    assert f"127.0.0.1:{mosquitto.port} back after" in during[1].getMessage()
    assert "replayed 5 spooled messages" in during[1].getMessage()
