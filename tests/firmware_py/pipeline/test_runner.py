"""The live loop: one message per frame to every sink, stats, the health file, a broken sink
that does not stop detection, and systemd's watchdog fed from the loop."""

from __future__ import annotations

import json
import socket
import threading
import time

from firmware_py.board import BoardConfig
from firmware_py.dashboard import Dashboard
from firmware_py.device.sdnotify import Notifier
from firmware_py.pipeline.frame import FrameProcessor
from firmware_py.pipeline.runner import Pipeline, RunLimits
from firmware_py.sinks import Sink, create_sink
from firmware_py.sources import create_source
from firmware_py.sources.capture import CaptureConfig
from firmware_py.telemetry import Telemetry, TelemetryEmitter, read_stats


class BrokenSink(Sink):
    """A sink whose every call raises (a stand-in for a failing output)."""

    key = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def publish_detections(self, message) -> None:
        self.calls += 1
        raise OSError("disk gone")

    def publish_stats(self, stats) -> None:
        raise OSError("disk gone")

    def close(self) -> None:
        pass


def _pipeline(model, frames_dir, tmp_path, mode="sparse", **kw) -> Pipeline:
    board = BoardConfig.model_validate({"merge": {"score_threshold": 0.05}})
    source = create_source({"type": "folder", "path": str(frames_dir)})
    jsonl = create_sink({"type": "jsonl", "path": str(tmp_path / "out.jsonl")})
    sinks = [jsonl, *kw.pop("extra", [])]
    emitter = TelemetryEmitter(Telemetry(), sinks, tmp_path / "stats.jsonl", period_s=0.05)
    return Pipeline(FrameProcessor(board, model, mode), source, sinks, "dev1", emitter,
                    CaptureConfig(drop=False), **kw)


def test_every_frame_reaches_the_sinks_with_stats_and_health(model, frames_dir, tmp_path
                                                             ) -> None:
    health = tmp_path / "run" / "health.json"
    broken = BrokenSink()
    pipeline = _pipeline(model, frames_dir, tmp_path, health_file=health, extra=[broken],
                         info={"bundle": "b", "model": "tiny"})
    stats = pipeline.run()
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    detections = [x for x in lines if x["kind"] == "detections"]
    assert [x["frame_id"] for x in detections] == list(range(6)) == list(range(pipeline.frames))
    # one run: every message, detections and stats alike, carries its id and the next number
    assert {x["run_id"] for x in lines} == {pipeline.run_id}
    assert [x["seq"] for x in lines] == list(range(len(lines)))
    assert all(x["mqtt_state"] == "disabled" and x["spool_depth"] == 0
               for x in lines if x["kind"] == "stats")
    assert broken.calls == 6  # called every frame, its errors did not stop the loop
    assert all(x["device"] == "dev1" and x["tiles_total"] == 12 for x in detections)
    assert sum(len(x["boxes"]) for x in detections) > 0
    assert any(x["kind"] == "stats" for x in lines)
    assert stats["frames_total"] == 6 and stats["inference_total"] == 6
    assert stats["infer_ms_mean"] > 0 and stats["mode"] == "sparse" and stats["model"] == "tiny"
    logged = read_stats(tmp_path / "stats.jsonl")
    assert logged and logged[-1]["inference_total"] == 6  # the stats log got the same records
    record = json.loads(health.read_text())
    assert record["ok"] and record["frames"] == 6 and record["model"] == "tiny"


def test_every_sink_gets_the_same_run_id_and_seq(model, frames_dir, tmp_path) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5.0)
    udp = create_sink({"type": "udp", "port": receiver.getsockname()[1]})
    dashboard = Dashboard()
    pipeline = _pipeline(model, frames_dir, tmp_path, extra=[udp, dashboard])
    pipeline.run()
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    with receiver:
        datagrams = [json.loads(receiver.recv(65535)) for _ in lines]
    stamps = [(x["kind"], x["run_id"], x["seq"]) for x in lines]
    assert [(x["kind"], x["run_id"], x["seq"]) for x in datagrams] == stamps
    state = dashboard.state()  # the dashboard's last of each kind, as its page shows them
    for kind in ("detections", "stats"):
        last = [stamp[1:] for stamp in stamps if stamp[0] == kind][-1]
        assert (state[kind]["run_id"], state[kind]["seq"]) == last


def test_limits_stop_the_loop(model, frames_dir, tmp_path) -> None:
    pipeline = _pipeline(model, frames_dir, tmp_path, mode="dense")
    pipeline.run(RunLimits(max_frames=2))
    assert pipeline.frames == 2


def test_the_watchdog_is_fed_from_the_loop_and_starves_when_it_hangs(model, frames_dir,
                                                                      tmp_path) -> None:
    """systemd's side of the socket: while a frame hangs, no WATCHDOG=1 arrives (the feed is
    the loop's, not a thread's), and feeding resumes when the loop does."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    hung, release = threading.Event(), threading.Event()

    def on_frame(result) -> None:
        if pipeline.frames == 2:
            hung.set()
            release.wait(30)

    pipeline = _pipeline(model, frames_dir, tmp_path, on_frame=on_frame,
                         notifier=Notifier(str(tmp_path / "notify.sock"), watchdog_s=0.05))
    runner = threading.Thread(target=pipeline.run)
    runner.start()
    try:
        assert hung.wait(30)
        before = drain(listener)  # everything sent before the hang is in the buffer already
        time.sleep(0.5)  # ten watchdog intervals
        during = drain(listener)
    finally:
        release.set()
        runner.join(30)
    after = drain(listener)
    listener.close()
    assert before[0] == "READY=1" and "WATCHDOG=1" in before
    assert during == []
    assert "WATCHDOG=1" in after and after[-1] == "STOPPING=1"


def drain(sock: socket.socket) -> list[str]:
    """The lines of the datagrams waiting in the socket now."""
    out = []
    while True:
        try:
            out += sock.recv(4096, socket.MSG_DONTWAIT).decode().split("\n")
        except BlockingIOError:
            return out
