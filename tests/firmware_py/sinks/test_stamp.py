"""Run ids (RFC 9562 UUIDv7) and the per-run message counter."""

from __future__ import annotations

import threading
import time
import uuid

from firmware_py.sinks.stamp import RunStamp, new_run_id


def test_run_ids_are_uuid7_carrying_their_start_time_and_differ():
    before = time.time_ns() // 1_000_000
    ids = [new_run_id() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after  # the 48-bit millisecond timestamp


def test_ids_made_later_sort_later():
    first = new_run_id()
    time.sleep(0.002)
    assert new_run_id() > first


def test_each_stamp_counts_from_zero_and_never_repeats_across_threads():
    a, b = RunStamp(), RunStamp()
    assert a.run_id != b.run_id and a.next() == 0 and a.next() == 1 and b.next() == 0
    stamp = RunStamp("fixed")
    taken: list[list[int]] = [[] for _ in range(4)]

    def take(out: list[int]) -> None:
        out.extend(stamp.next() for _ in range(2000))

    threads = [threading.Thread(target=take, args=(out,)) for out in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = sorted(n for out in taken for n in out)
    assert stamp.run_id == "fixed" and numbers == list(range(8000))
    assert all(out == sorted(out) for out in taken)
