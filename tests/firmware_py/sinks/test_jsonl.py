"""The JSONL sink: stdout, and a file rotated by size keeping N backups."""

from __future__ import annotations

import io
import json

import pytest

from firmware_py.sinks import create_sink
from firmware_py.sinks.jsonl import JsonlConfig, JsonlSink
from firmware_py.sinks.message import DetectionMessage


def frame(i: int) -> DetectionMessage:
    return DetectionMessage("cam1", i, 0.0, 1, 4, [[0, 0, 8, 8]], [0.5], [0], ("bird",))


def test_stdout_gets_one_json_object_per_line():
    out = io.StringIO()
    with create_sink({"type": "jsonl"}, stream=out) as sink:
        sink.publish_detections(frame(3))
        sink.publish_stats({"camera_fps": 30.0})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["kind"] for line in lines] == ["detections", "stats"]
    assert lines[0]["frame_id"] == 3 and lines[1]["camera_fps"] == 30.0


def test_rotation_keeps_n_files_and_never_splits_a_line(tmp_path):
    path = tmp_path / "out" / "det.jsonl"
    line_bytes = len(frame(10).to_json()) + 1
    config = JsonlConfig(path=str(path), max_bytes=max(1024, 3 * line_bytes), backups=2)
    with JsonlSink(config) as sink:
        for i in range(10, 40):
            sink.publish_detections(frame(i))
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["det.jsonl", "det.jsonl.1", "det.jsonl.2"]
    per_file = config.max_bytes // line_bytes
    ids = []
    for name in ("det.jsonl.2", "det.jsonl.1", "det.jsonl"):  # oldest first
        text = (path.parent / name).read_text()
        assert len(text.encode()) <= config.max_bytes and text.endswith("\n")
        ids += [json.loads(line)["frame_id"] for line in text.splitlines()]
    assert ids == list(range(40 - len(ids), 40))  # the newest, contiguous, in order
    assert len(ids) > 2 * per_file
    assert sink.rotations == (30 - 1) // per_file


def test_appends_to_an_existing_file_and_counts_its_size(tmp_path):
    path = tmp_path / "det.jsonl"
    path.write_text("x" * 1000 + "\n")
    with JsonlSink(JsonlConfig(path=str(path), max_bytes=1024, backups=1)) as sink:
        sink.publish_detections(frame(0))
    assert (tmp_path / "det.jsonl.1").read_text() == "x" * 1000 + "\n"
    assert json.loads(path.read_text())["frame_id"] == 0


def test_config_bounds():
    with pytest.raises(ValueError):
        JsonlConfig(max_bytes=10)
    with pytest.raises(ValueError):
        JsonlConfig(colour="red")


def test_a_line_longer_than_max_bytes_gets_a_file_of_its_own(tmp_path):
    path = tmp_path / "det.jsonl"
    with JsonlSink(JsonlConfig(path=str(path), max_bytes=1024, backups=3)) as sink:
        sink.publish_stats({"blob": "x" * 2000})  # into the empty file: no empty .1 made
        sink.publish_detections(frame(1))
        assert path.stat().st_size > 0  # flushed per line, visible before close
    assert sink.rotations == 1
    assert "blob" in (tmp_path / "det.jsonl.1").read_text()
    assert json.loads(path.read_text())["frame_id"] == 1
    assert not (tmp_path / "det.jsonl.2").exists()
