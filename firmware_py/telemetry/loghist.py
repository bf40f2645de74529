"""A fixed log-binned histogram: latencies of every frame, in bounded memory, mergeable.

The per-period stats carry only the counts gained since the previous period, so a report can
add the periods of a whole log and read percentiles of all frames from the sum, which
percentiles of per-period percentiles would not give. Choices (no source prescribes them):
``BINS_PER_DECADE = 10`` log-spaced bins from ``LOW`` = 0.01 to ``HIGH`` = 1e5 (70 bins; in
milliseconds, 10 us to 100 s), so a bin spans a factor of 10 ** 0.1 = 1.26 and a percentile
read at the bin's geometric middle is within 12 % of the true one. Values below ``LOW`` count
in the first bin, values above ``HIGH`` in the last. The counts travel as a compact sparse
string, ``"bin:count bin:count"``, so the same field fits a CSV cell and a JSON value.
"""

from __future__ import annotations

import math

import numpy as np

LOW = 0.01
HIGH = 1e5
BINS_PER_DECADE = 10
NUM_BINS = round(math.log10(HIGH / LOW) * BINS_PER_DECADE)
_LOG_LOW = math.log10(LOW)


def bin_of(value: float) -> int:
    """The bin index of one value (clipped into the first and last bins)."""
    if not value > LOW:  # also NaN
        return 0
    return min(int((math.log10(value) - _LOG_LOW) * BINS_PER_DECADE), NUM_BINS - 1)


def edges() -> np.ndarray:
    """``(NUM_BINS + 1,)`` bin edges."""
    return np.logspace(_LOG_LOW, math.log10(HIGH), NUM_BINS + 1)


def centers() -> np.ndarray:
    """``(NUM_BINS,)`` geometric middles of the bins."""
    e = edges()
    return np.sqrt(e[:-1] * e[1:])


def encode(counts: np.ndarray) -> str:
    """Sparse text of a count array: ``"3:10 4:2"`` (empty string when all are zero)."""
    return " ".join(f"{i}:{int(counts[i])}" for i in np.flatnonzero(counts))


def decode(text: str) -> np.ndarray:
    """The count array of :func:`encode`'s text; :class:`ValueError` names the bad item."""
    counts = np.zeros(NUM_BINS, dtype=np.int64)
    for item in str(text).split():
        index, sep, count = item.partition(":")
        try:
            i, c = int(index), int(count)
        except ValueError:
            raise ValueError(f"histogram item {item!r} is not 'bin:count'") from None
        if not sep or not 0 <= i < NUM_BINS or c < 0:
            raise ValueError(f"histogram item {item!r}: bin must be in [0, {NUM_BINS}) and "
                             "count >= 0")
        counts[i] += c
    return counts


def percentile(counts: np.ndarray, q: float) -> float | None:
    """The ``q``-th percentile (0..100) read at the middle of the bin holding it; None if
    empty."""
    total = int(counts.sum())
    if total == 0:
        return None
    rank = max(1, math.ceil(q / 100.0 * total))  # nearest-rank
    index = int(np.searchsorted(np.cumsum(counts), rank))
    return float(centers()[index])
