"""A bounded, crash-safe, on-disk FIFO of ``(topic, payload)`` messages.

Storage is one SQLite database (stdlib ``sqlite3``) in WAL mode: a table keyed by an
``AUTOINCREMENT`` sequence number, so the order of arrival is the order of the key, and numbers
are never reused, even after the newest row was removed and the process restarted. Each
:meth:`Spool.put` is one transaction, so a crash (of the process, or of the board with
``durable=True``) leaves the queue as it was after the last completed put or remove, never
half-written.

SQLite rather than hand-rolled append-only segment files: the same guarantees (atomic append,
atomic removal from the head, recovery after a crash) without a recovery scan to write, and it
ships with every Python. ``durable=False`` (the default) is WAL with ``synchronous=NORMAL``:
safe against the process dying; a power cut may lose the last few puts but never corrupts the
file. ``durable=True`` (``synchronous=FULL``) fsyncs every transaction, which an SD card pays
for in latency and wear.

The bound is a number of messages and a number of payload bytes. When a put would exceed
either, the oldest messages are removed and counted in :attr:`Spool.dropped`, a counter stored
in the same database so it survives restarts. A file that SQLite cannot read is moved aside to
``<name>.corrupt`` and a fresh spool started.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

_CHUNK = 500  # bound parameters per statement, below every SQLite build's limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('dropped', 0);
"""


class SpoolEntry(NamedTuple):
    seq: int
    topic: str
    payload: bytes


class Spool:
    """FIFO on disk. Thread-safe: the producer puts while the sender peeks and removes."""

    def __init__(self, path: str | os.PathLike[str], max_messages: int = 100_000,
                 max_bytes: int = 64 * 2**20, durable: bool = False) -> None:
        if max_messages < 1 or max_bytes < 1:
            raise ValueError("max_messages and max_bytes must be positive")
        self.path = Path(path)
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            self._db = self._open(durable)
        except sqlite3.DatabaseError as e:
            aside = self.path.with_name(self.path.name + ".corrupt")
            log.error("spool %s unreadable (%s); moved to %s, starting empty", self.path, e, aside)
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            self._db = self._open(durable)
        self._count, self._bytes = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM messages").fetchone()
        self._dropped: int = self._db.execute(
            "SELECT value FROM meta WHERE key = 'dropped'").fetchone()[0]

    def _open(self, durable: bool) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            db.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Payload bytes queued."""
        return self._bytes

    @property
    def dropped(self) -> int:
        """Messages removed unsent because the bound was hit, over the spool's whole life."""
        return self._dropped

    def put(self, topic: str, payload: bytes) -> int | None:
        """Append; returns the message's sequence number, or ``None`` if the payload alone is
        larger than ``max_bytes`` (dropped and counted)."""
        with self._lock:
            if len(payload) > self.max_bytes:
                self._add_dropped(1)
                return None
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._db.execute("INSERT INTO messages (topic, payload) VALUES (?, ?)",
                                       (topic, payload)).lastrowid
                self._count += 1
                self._bytes += len(payload)
                self._trim()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._count, self._bytes = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM messages"
                ).fetchone()
                raise
            assert seq is not None
            return seq

    def _trim(self) -> None:
        """Remove the oldest rows until within bounds (inside the caller's transaction)."""
        if self._count <= self.max_messages and self._bytes <= self.max_bytes:
            return
        count, nbytes, cutoff = self._count, self._bytes, None
        rows = self._db.execute("SELECT seq, LENGTH(payload) FROM messages ORDER BY seq")
        for seq, size in rows:
            if count <= self.max_messages and nbytes <= self.max_bytes:
                break
            count, nbytes, cutoff = count - 1, nbytes - size, seq
        rows.close()
        removed = self._db.execute("DELETE FROM messages WHERE seq <= ?", (cutoff,)).rowcount
        self._count, self._bytes = count, nbytes
        self._add_dropped(removed)
        log.warning("spool %s full: dropped the %d oldest messages (%d in all)", self.path,
                    removed, self._dropped)

    def _add_dropped(self, n: int) -> None:
        self._dropped += n
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'dropped'", (self._dropped,))

    def peek(self, after: int = 0, limit: int = 64) -> list[SpoolEntry]:
        """Up to ``limit`` oldest messages with ``seq > after``, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT seq, topic, payload FROM messages WHERE seq > ? "
                                    "ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [SpoolEntry(seq, topic, bytes(payload)) for seq, topic, payload in rows]

    def bounds(self) -> tuple[int, int] | None:
        """``(oldest, newest)`` sequence numbers queued, or None when empty."""
        with self._lock:
            low, high = self._db.execute("SELECT MIN(seq), MAX(seq) FROM messages").fetchone()
        return None if low is None else (low, high)

    def remove(self, seqs: Iterable[int]) -> int:
        """Remove delivered messages (unknown numbers are ignored); returns how many went."""
        seqs = list(seqs)
        removed = 0
        with self._lock:
            for i in range(0, len(seqs), _CHUNK):
                chunk = seqs[i:i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                self._db.execute("BEGIN IMMEDIATE")
                count, nbytes = self._db.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM messages "
                    f"WHERE seq IN ({marks})", chunk).fetchone()
                self._db.execute(f"DELETE FROM messages WHERE seq IN ({marks})", chunk)
                self._db.execute("COMMIT")
                self._count -= count
                self._bytes -= nbytes
                removed += count
        return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()
