"""The consumer's exactly-once filter: each ``(run_id, seq)`` passes once."""

from __future__ import annotations

import random

from firmware_py.sinks.dedupe import Deduplicator


def msg(run: str, seq: int) -> dict:
    return {"run_id": run, "seq": seq}


def test_each_key_passes_once_in_any_order_and_runs_are_apart() -> None:
    rng = random.Random(0)
    offered = [msg(run, seq) for run in "ab" for seq in range(300)
               for _ in range(rng.randint(1, 3))]
    rng.shuffle(offered)
    dedupe = Deduplicator()
    passed = [(m["run_id"], m["seq"]) for m in offered if dedupe.first(m)]
    assert sorted(passed) == [(run, seq) for run in "ab" for seq in range(300)]
    assert dedupe.repeats == len(offered) - 600


def test_memory_is_a_watermark_once_the_sequence_is_contiguous() -> None:
    dedupe = Deduplicator()
    for seq in (2, 1, 0, 3):
        assert dedupe.first(msg("a", seq))
    run = dedupe._runs["a"]
    assert (run.floor, run.above) == (4, set())


def test_a_gap_that_never_fills_is_given_up_after_the_window() -> None:
    dedupe = Deduplicator(window=4)
    assert all(dedupe.first(msg("a", seq)) for seq in range(1, 6))  # seq 0 never comes
    run = dedupe._runs["a"]
    assert (run.floor, run.above) == (6, set())
    assert not dedupe.first(msg("a", 3)) and dedupe.first(msg("a", 6))


def test_the_least_recently_seen_run_is_forgotten_first() -> None:
    dedupe = Deduplicator(runs=2)
    for run in ("a", "b", "a", "c"):  # "b" is the least recently seen when "c" arrives
        dedupe.first(msg(run, 0))
    assert list(dedupe._runs) == ["a", "c"]
    assert dedupe.first(msg("b", 0))  # forgotten: passes again
