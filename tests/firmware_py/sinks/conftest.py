"""Fixtures of the sink tests: a real mosquitto broker and a subscriber (:mod:`.broker`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.firmware_py.sinks.broker import Broker, Collector, find_mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(find_mosquitto(), tmp_path)
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture
def collector() -> Iterator[Callable[[int], Collector]]:
    made: list[Collector] = []

    def make(port: int) -> Collector:
        made.append(Collector(port))
        return made[-1]

    yield make
    for c in made:
        c.close()
