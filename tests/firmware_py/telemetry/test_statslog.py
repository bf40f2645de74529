"""The stats log: size rotation through RotatingFileHandler, CSV headers that widen, reading
every part in order, torn last lines, and errors that name the file and line."""

import json
from pathlib import Path

import pytest

from firmware_py.telemetry.statslog import StatsLog, StatsLogError, log_parts, read_stats


def write(path: Path, n: int, max_bytes: int = 600, backups: int = 50, extra_at: int = -1) -> None:
    log = StatsLog(path, max_bytes=max_bytes, backups=backups)
    for i in range(n):
        record = {"t": float(i), "frames": i, "power_source": "ina2xx", "ok": i % 2 == 0,
                  "missing": None}
        if i >= extra_at >= 0:
            record["budget_w"] = 4.5
        log.write(record)
    log.close()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_rotated_parts_read_back_in_order_and_complete(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"stats{suffix}"
    write(path, 100)
    parts = log_parts(path)
    assert len(parts) > 3 and parts[-1] == path
    assert all(p.stat().st_size <= 600 + 200 for p in parts)  # a record may tip one over
    records = read_stats(path)
    assert [r["t"] for r in records] == [float(i) for i in range(100)]
    assert records[3]["ok"] is False and records[4]["ok"] is True
    assert records[5]["missing"] is None and records[5]["power_source"] == "ina2xx"


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_only_backups_parts_are_kept(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"stats{suffix}"
    write(path, 200, max_bytes=1024, backups=2)
    assert [p.name for p in log_parts(path)] == [f"stats{suffix}.2", f"stats{suffix}.1",
                                                f"stats{suffix}"]
    assert read_stats(path)[-1]["t"] == 199.0


def test_a_new_csv_column_starts_a_part_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "stats.csv"
    write(path, 10, max_bytes=10**6, extra_at=6)
    assert len(log_parts(path)) == 2
    records = read_stats(path)
    assert len(records) == 10
    assert "budget_w" not in records[5] and records[6]["budget_w"] == 4.5
    for part in log_parts(path):  # every part is a plain CSV with one header line
        assert part.read_text().splitlines()[0].startswith("t,frames")


def test_jsonl_log_is_the_sink_payload_and_other_kinds_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    write(path, 2, max_bytes=10**6)
    with path.open("a") as f:
        f.write(json.dumps({"kind": "detections", "frame_id": 1}) + "\n")
    first = json.loads(path.read_text().splitlines()[0])
    assert first["kind"] == "stats"
    assert len(read_stats(path)) == 2


@pytest.mark.parametrize("suffix,torn", [(".jsonl", '{"t": 3.0, "fra'), (".csv", "3.0,3")])
def test_a_torn_last_line_is_skipped(tmp_path: Path, suffix: str, torn: str) -> None:
    path = tmp_path / f"stats{suffix}"
    write(path, 3, max_bytes=10**6)
    with path.open("a") as f:
        f.write(torn)
    assert len(read_stats(path)) == 3


@pytest.mark.parametrize("suffix,bad", [(".jsonl", "not json"), (".csv", "1,2,3,4,5,6,7")])
def test_a_bad_line_inside_names_file_and_line(tmp_path: Path, suffix: str, bad: str) -> None:
    path = tmp_path / f"stats{suffix}"
    write(path, 4, max_bytes=10**6)
    lines = path.read_text().splitlines()
    lines.insert(2, bad)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(StatsLogError, match=rf"stats{suffix}:3:"):
        read_stats(path)


def test_a_missing_log_is_named(tmp_path: Path) -> None:
    with pytest.raises(StatsLogError, match="no stats log"):
        read_stats(tmp_path / "absent.jsonl")


def test_settings_that_would_never_rotate_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backups"):
        StatsLog(tmp_path / "x.jsonl", backups=0)
