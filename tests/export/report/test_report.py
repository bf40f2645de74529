"""``specks report``'s figures from a log with known contents, and its files."""

from pathlib import Path

import numpy as np
import pytest

from export.report.report import histograms, report, summarize
from firmware_py.telemetry import StatsLog, StatsLogError, loghist

PNG = b"\x89PNG\r\n\x1a\n"


def known_log(path: Path, rng: np.random.Generator, max_bytes: int = 4 * 2**20) -> np.ndarray:
    """20 one-second periods, 10 frames each, power alternating 4 W and 6 W, budget 4.5 W;
    returns every latency sample written."""
    log = StatsLog(path, max_bytes=max_bytes, backups=100)
    samples = []
    for i in range(20):
        values = rng.lognormal(3.0, 0.5, 10)
        samples.append(values)
        counts = np.zeros(loghist.NUM_BINS, dtype=np.int64)
        np.add.at(counts, [loghist.bin_of(v) for v in values], 1)
        log.write({"t": 100.0 + i, "period_s": 1.0, "frames": 10, "inference_fps": 10.0,
                   "power_w": 4.0 if i % 2 else 6.0, "budget_w": 4.5, "power_source": "ina2xx",
                   "power_estimated": False, "infer_ms_hist": loghist.encode(counts)})
    log.close()
    return np.concatenate(samples)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_summary_figures_match_the_log(tmp_path: Path, suffix: str) -> None:
    samples = known_log(tmp_path / f"stats{suffix}", np.random.default_rng(1), max_bytes=2048)
    summary, text, files = report(tmp_path / f"stats{suffix}", tmp_path / "out")
    assert summary["records"] == 20 and summary["frames"] == 200
    assert summary["duration_s"] == pytest.approx(20.0)
    assert summary["mean_power_w"] == pytest.approx(5.0)
    assert summary["joules_per_frame"] == pytest.approx(0.5)
    assert summary["time_over_budget_s"] == pytest.approx(10.0)
    assert summary["power_source"] == "ina2xx" and summary["estimated"] is False
    ratio = 10 ** (1 / loghist.BINS_PER_DECADE)
    latency = summary["latency_ms"]["infer_ms"]
    assert latency["frames"] == 200
    for q in (50, 95):
        assert 1 / ratio <= latency[f"p{q}"] / np.percentile(samples, q) <= ratio
    assert "J/frame" in text and "infer_ms" in text
    for f in files:
        assert f.stat().st_size > 0
    assert all(f.read_bytes().startswith(PNG) for f in files if f.suffix == ".png")
    assert {f.name for f in files} == {"power.png", "fps.png", "latency.png", "summary.md",
                                       "summary.json"}


def test_summary_without_power_or_latency() -> None:
    summary = summarize([{"period_s": 1.0, "frames": 5}, {"period_s": 1.0, "frames": 5}])
    assert summary["mean_power_w"] is None and summary["joules_per_frame"] is None
    assert summary["frames"] == 10 and summary["latency_ms"] == {}


def test_a_bad_histogram_names_record_and_field() -> None:
    with pytest.raises(StatsLogError, match="record 2, field 'infer_ms_hist'"):
        histograms([{"infer_ms_hist": "1:2"}, {"infer_ms_hist": "oops"}])


def test_an_empty_log_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(StatsLogError, match="no stats records"):
        report(tmp_path / "empty.jsonl", tmp_path / "out")
