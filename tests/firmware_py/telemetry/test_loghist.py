"""The log-binned histogram: bins, sparse text round trip, percentiles within a bin."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_py.telemetry import loghist


@given(st.floats(min_value=loghist.LOW * 1.0001, max_value=loghist.HIGH * 0.9999))
def test_a_value_falls_between_the_edges_of_its_bin(value: float) -> None:
    edges = loghist.edges()
    i = loghist.bin_of(value)
    assert edges[i] * (1 - 1e-9) <= value <= edges[i + 1] * (1 + 1e-9)


def test_out_of_range_values_land_in_the_end_bins() -> None:
    assert loghist.bin_of(0.0) == loghist.bin_of(float("nan")) == 0
    assert loghist.bin_of(1e12) == loghist.NUM_BINS - 1


@given(st.lists(st.integers(0, 1000), min_size=loghist.NUM_BINS, max_size=loghist.NUM_BINS))
def test_encode_decode_round_trip(counts: list[int]) -> None:
    array = np.array(counts, dtype=np.int64)
    assert np.array_equal(loghist.decode(loghist.encode(array)), array)


@pytest.mark.parametrize("text", ["3", "x:1", "999:1", "2:-1"])
def test_decode_names_the_bad_item(text: str) -> None:
    with pytest.raises(ValueError, match=text.split(":")[0]):
        loghist.decode(text)


def test_percentiles_are_within_one_bin_of_numpys() -> None:
    values = np.random.default_rng(0).lognormal(3.0, 0.8, 5000)
    counts = np.zeros(loghist.NUM_BINS, dtype=np.int64)
    for v in values:
        counts[loghist.bin_of(v)] += 1
    ratio = 10 ** (1 / loghist.BINS_PER_DECADE)
    for q in (50, 95):
        got = loghist.percentile(counts, q)
        assert got is not None
        assert 1 / ratio <= got / np.percentile(values, q) <= ratio
    assert loghist.percentile(np.zeros(loghist.NUM_BINS, dtype=np.int64), 50) is None
