"""Broker outages of the ``mqtt`` sink: one log line when one starts, one when it ends.

An outage starts at the first failed connection attempt (the broker down when the sink
starts, or any attempt after a link was lost) or when an established link is lost, and ends
once the sink, connected again, has delivered the backlog: every message that was in the spool
when it reconnected, so consumers are caught up. It is logged twice, whatever the number of
reconnect attempts in between:

- start, WARNING: the broker's address, why (the first failure), how many messages are queued
  and the spool file they wait in;
- end, INFO: how long the broker was away (start to reconnection), how many spooled messages
  were replayed and in what time, and how many the spool's bound dropped meanwhile, if any.

The reconnect attempts in between, a link that drops again during the replay (the outage goes
on; its replay count keeps growing) and the reconnection itself are logged at DEBUG. One
exception: a broker that answers but refuses the sink (a CONNACK refusal such as bad
credentials, a TLS certificate the CA file does not vouch for, a TLS port spoken to in plain
text) is a setup fault that waiting will not fix, so each new such reason is one more WARNING
(a broker that returns with the wrong password is not hidden behind the outage's first line).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

log = logging.getLogger("firmware_py.sinks.mqtt")


class Outage:
    """The outage state of one sink; its sender thread calls every method."""

    def __init__(self, broker: str, spool_path: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.broker, self.spool_path, self.clock = broker, spool_path, clock
        self.since: float | None = None  # start of the current outage
        self.back: float | None = None  # when it reconnected during this outage
        self.mark: int | None = None  # newest spool seq at that reconnection: the backlog
        self.replayed = 0
        self._dropped = 0  # the spool's drop count when the outage started
        self._refusal: str | None = None  # the last refusal warned about

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(self, reason: str, queued: int, dropped: int, refusal: bool = False) -> None:
        """A connection attempt failed; ``refusal``: the broker answered and said no."""
        if self.since is None:
            self._start(reason, queued, dropped)
        elif refusal and reason != self._refusal:
            log.warning("mqtt: %s %s", self.broker, reason)
        else:
            log.debug("mqtt: %s still unreachable: %s", self.broker, reason)
        if refusal:
            self._refusal = reason
        self.back = None

    def lost(self, queued: int, unacked: int, dropped: int) -> None:
        """The established link died."""
        if self.since is None:
            self._start(f"lost the connection ({unacked} unacknowledged will be re-sent)",
                        queued, dropped)
        else:
            log.debug("mqtt: %s lost again during the replay", self.broker)
        self.back = None

    def _start(self, what: str, queued: int, dropped: int) -> None:
        self.since, self.replayed, self._dropped = self.clock(), 0, dropped
        log.warning("mqtt: broker %s is away: %s; messages wait in %s (%d queued) until it "
                    "is back",
                    self.broker, what, self.spool_path, queued)

    def reconnected(self, bounds: tuple[int, int] | None, dropped: int) -> None:
        """Connected; ``bounds`` are the spool's ``(oldest, newest)`` sequence numbers."""
        self._refusal = None
        if self.since is None:
            return
        self.back = self.clock()
        self.mark = bounds[1] if bounds else None
        log.debug("mqtt: %s reconnected; replaying %s", self.broker,
                  f"up to spool seq {self.mark}" if bounds else "nothing")
        if bounds is None:
            self._end(dropped)

    def delivered(self, seqs: Iterable[int], bounds: tuple[int, int] | None,
                  dropped: int) -> None:
        """The broker acknowledged the spool entries ``seqs``; ``bounds`` are the spool's
        after their removal."""
        if self.back is None or self.mark is None:
            return
        self.replayed += sum(1 for seq in seqs if seq <= self.mark)
        if bounds is None or bounds[0] > self.mark:
            self._end(dropped)

    def _end(self, dropped: int) -> None:
        assert self.since is not None and self.back is not None
        now, lost = self.clock(), dropped - self._dropped
        log.info("mqtt: broker %s back after %.1f s; replayed %d spooled messages in %.1f s%s",
                 self.broker, self.back - self.since, self.replayed, now - self.back,
                 f"; the full spool dropped {lost} meanwhile" if lost else "")
        self.since = self.back = self.mark = None
