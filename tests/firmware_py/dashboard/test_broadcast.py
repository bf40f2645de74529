"""Per-client bounded queues: the producer never waits, slow readers lose their oldest items."""

from __future__ import annotations

import threading

import pytest

from firmware_py.dashboard.broadcast import Broadcast, Closed, Full


def test_a_reader_that_never_reads_loses_the_oldest_and_the_rest_still_get_everything():
    broadcast: Broadcast[int] = Broadcast(maxsize=3, max_subscribers=4)
    stalled, reader = broadcast.subscribe(), broadcast.subscribe()
    received = []
    for i in range(10):
        broadcast.publish(i)
        received.append(reader.get(timeout=1.0))
    assert received == list(range(10))
    assert [stalled.get(timeout=0.0) for _ in range(3)] == [7, 8, 9]  # the newest survive
    assert stalled.get(timeout=0.0) is None
    assert stalled.dropped == 7 and broadcast.dropped == 7
    broadcast.unsubscribe(stalled)
    assert broadcast.dropped == 7 and broadcast.subscribers == 1  # drops outlive the reader


def test_subscribers_are_bounded():
    broadcast: Broadcast[int] = Broadcast(maxsize=1, max_subscribers=2)
    first = broadcast.subscribe()
    broadcast.subscribe()
    with pytest.raises(Full):
        broadcast.subscribe()
    broadcast.unsubscribe(first)
    broadcast.subscribe()


def test_close_wakes_a_waiting_reader_and_refuses_new_ones():
    broadcast: Broadcast[int] = Broadcast(maxsize=1, max_subscribers=2)
    subscriber = broadcast.subscribe()
    outcome: list[str] = []

    def wait() -> None:
        try:
            subscriber.get(timeout=30.0)
        except Closed:
            outcome.append("closed")

    thread = threading.Thread(target=wait)
    thread.start()
    broadcast.close()
    thread.join(timeout=5.0)
    assert outcome == ["closed"]
    with pytest.raises(Closed):
        broadcast.subscribe()
