"""The health file: atomic round trip and the wait for a fresh, healthy record."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from firmware_py.device.health import Health, HealthTimeout, read_health, wait_healthy, write_health


def record(bundle: Path, ok: bool = True, t: float | None = None) -> Health:
    return Health(t_wall=time.time() if t is None else t, frames=5, fps=9.0,
                  bundle=str(bundle), model="tiny", ok=ok)


def test_round_trip_keeps_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "run" / "health.json"
    assert read_health(path) is None
    written = Health.model_validate({**record(tmp_path).model_dump(), "power_mw": 2100})
    write_health(path, written)
    assert read_health(path) == written
    assert not list(path.parent.glob(".*"))  # no temp file left behind


def test_invalid_record_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    path.write_text('{"frames": -1}')
    assert read_health(path) is None


def test_runs_resolves_links(tmp_path: Path) -> None:
    (tmp_path / "slots" / "b").mkdir(parents=True)
    (tmp_path / "current").symlink_to("slots/b")
    assert record(tmp_path / "current").runs(tmp_path / "slots" / "b")
    assert not record(tmp_path / "current").runs(tmp_path / "slots" / "a")


def test_wait_ignores_stale_unhealthy_and_foreign_records(tmp_path: Path) -> None:
    path, bundle = tmp_path / "health.json", tmp_path / "new"
    since = time.time()
    write_health(path, record(bundle, t=since - 10))           # before the restart

    def pipeline() -> None:
        time.sleep(0.2)
        write_health(path, record(tmp_path / "old"))           # the old bundle still running
        time.sleep(0.2)
        write_health(path, record(bundle, ok=False))           # starting, not yet ok
        time.sleep(0.2)
        write_health(path, record(bundle))

    writer = threading.Thread(target=pipeline)
    writer.start()
    health = wait_healthy(path, since, bundle, timeout=5, poll=0.05)
    writer.join()
    assert health.ok and health.runs(bundle)


def test_timeout_names_the_last_record(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    write_health(path, record(tmp_path, ok=False))
    with pytest.raises(HealthTimeout, match="ok=False"):
        wait_healthy(path, time.time() - 1, tmp_path, timeout=0.3, poll=0.05)
