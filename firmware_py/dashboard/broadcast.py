"""One producer, many consumers, and no consumer can hold the producer back.

Each subscriber (one HTTP client) gets its own bounded queue; :meth:`Broadcast.publish` appends
to every queue and never blocks: a full queue drops its oldest item and counts it (the house
rule for frame queues: drop old, never build lag). A slow client therefore sees gaps, never a
growing delay, and never slows the pipeline. ``collections.deque(maxlen=...)`` does the
dropping; one ``threading.Condition`` per subscriber wakes its reader.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Closed(Exception):
    """The broadcast was closed: the reader should end its response."""


class Full(Exception):
    """No room for another subscriber."""


class Subscriber(Generic[T]):
    """A bounded queue read by one client's thread."""

    def __init__(self, maxsize: int) -> None:
        self._items: deque[T] = deque(maxlen=maxsize)
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._cond:
            if len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout: float) -> T | None:
        """The oldest item, or ``None`` after ``timeout`` seconds without one; raises
        :class:`Closed` once the broadcast is closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed, timeout)
            if self._closed:
                raise Closed
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Broadcast(Generic[T]):
    """Fans items out to at most ``max_subscribers`` subscribers of ``maxsize`` items each."""

    def __init__(self, maxsize: int, max_subscribers: int) -> None:
        self.maxsize, self.max_subscribers = maxsize, max_subscribers
        self._subscribers: list[Subscriber[T]] = []
        self._lock = threading.Lock()
        self._closed = False
        self.published = 0
        self._dropped_gone = 0  # drops counted by subscribers that have left

    def subscribe(self) -> Subscriber[T]:
        subscriber: Subscriber[T] = Subscriber(self.maxsize)
        with self._lock:
            if self._closed:
                raise Closed
            if len(self._subscribers) >= self.max_subscribers:
                raise Full(f"{self.max_subscribers} subscribers already")
            self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber[T]) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)
                self._dropped_gone += subscriber.dropped

    def publish(self, item: T) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
            self.published += 1
        for subscriber in subscribers:
            subscriber.put(item)

    def close(self) -> None:
        """Wake every reader with :class:`Closed`; later subscriptions are refused."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.close()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    @property
    def dropped(self) -> int:
        """Items dropped for slow subscribers, present and past."""
        with self._lock:
            return self._dropped_gone + sum(s.dropped for s in self._subscribers)
