"""The on-disk FIFO: order, bounds, persistence across reopen, recovery from a bad file."""

from __future__ import annotations

import threading

import pytest

from firmware_py.sinks.spool import Spool


def test_fifo_order_peek_after_and_remove(tmp_path):
    spool = Spool(tmp_path / "q.sqlite3")
    seqs = [spool.put("t", f"m{i}".encode()) for i in range(5)]
    assert seqs == sorted(seqs) and len(spool) == 5 and spool.nbytes == 10
    assert [e.payload for e in spool.peek(limit=2)] == [b"m0", b"m1"]
    assert [e.payload for e in spool.peek(after=seqs[2])] == [b"m3", b"m4"]
    assert spool.remove([seqs[0], seqs[1], 10**9]) == 2
    assert [e.payload for e in spool.peek()] == [b"m2", b"m3", b"m4"] and spool.nbytes == 6
    spool.close()


def test_contents_and_drop_count_survive_reopen(tmp_path):
    spool = Spool(tmp_path / "q.sqlite3", max_messages=3)
    for i in range(5):
        spool.put("a/b", bytes([i]))
    spool.close()
    again = Spool(tmp_path / "q.sqlite3", max_messages=3)
    assert [(e.topic, e.payload) for e in again.peek()] == [("a/b", b"\x02"), ("a/b", b"\x03"),
                                                            ("a/b", b"\x04")]
    assert again.dropped == 2 and len(again) == 3
    # sequence numbers keep increasing after a restart, even past removed rows
    last = again.peek()[-1].seq
    again.remove([e.seq for e in again.peek()])
    assert again.put("a/b", b"x") > last
    again.close()


def test_byte_bound_drops_oldest_and_oversize(tmp_path):
    spool = Spool(tmp_path / "q.sqlite3", max_bytes=10)
    for payload in (b"aaaa", b"bbbb", b"cccc"):
        spool.put("t", payload)
    assert [e.payload for e in spool.peek()] == [b"bbbb", b"cccc"] and spool.dropped == 1
    assert spool.put("t", b"x" * 11) is None
    assert spool.dropped == 2 and len(spool) == 2 and spool.nbytes == 8


def test_unreadable_file_is_moved_aside(tmp_path):
    path = tmp_path / "q.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    spool = Spool(path)
    assert len(spool) == 0 and (tmp_path / "q.sqlite3.corrupt").exists()
    spool.put("t", b"ok")
    assert spool.peek()[0].payload == b"ok"


def test_concurrent_producer_and_consumer_keep_everything_in_order(tmp_path):
    spool = Spool(tmp_path / "q.sqlite3")
    got: list[bytes] = []

    def consume() -> None:
        while len(got) < 200:
            entries = spool.peek(limit=16)
            got.extend(e.payload for e in entries)
            spool.remove(e.seq for e in entries)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(200):
        spool.put("t", str(i).encode())
    consumer.join(10)
    assert got == [str(i).encode() for i in range(200)] and len(spool) == 0


def test_bounds_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        Spool(tmp_path / "q.sqlite3", max_messages=0)


def test_bounds_are_the_oldest_and_newest_queued(tmp_path):
    spool = Spool(tmp_path / "s.sqlite3")
    assert spool.bounds() is None
    seqs = [spool.put("t", b"x") for _ in range(4)]
    assert spool.bounds() == (seqs[0], seqs[-1])
    spool.remove(seqs[:2])
    assert spool.bounds() == (seqs[2], seqs[3])
    spool.remove(seqs[2:])
    assert spool.bounds() is None
    spool.close()
