"""build_pipeline: a board profile (which holds the deployment) and run options become a
working pipeline, with the profile's sinks and its live dashboard fed every frame and a stream
of MJPEG frames a client can read."""

from __future__ import annotations

import json
import urllib.request

import cv2
import numpy as np

from firmware_py.board import load_board
from firmware_py.pipeline.build import RunSpec, build_dashboard, build_pipeline, frame_feed
from firmware_py.pipeline.runner import RunLimits


def test_a_built_pipeline_feeds_the_profiles_dashboard_and_sinks(device_bundle, frames_dir,
                                                                   tmp_path) -> None:
    bundle, _, public = device_bundle
    out = tmp_path / "out.jsonl"
    board = load_board("x86-generic", ["merge.score_threshold=0.05", "power.sensor.type=estimate",
                                       f"sinks.jsonl.path={out}", "dashboard.port=0"])
    spec = RunSpec(bundle=bundle, source=str(frames_dir), trusted_keys=[public], loop=True,
                   realtime=False)
    dashboard = build_dashboard(board)
    pipeline = build_pipeline(board, spec, [dashboard])
    pipeline.on_frame = frame_feed(dashboard, pipeline.processor.detector.labels)
    url = dashboard.start()
    with urllib.request.urlopen(f"{url}stream.mjpg", timeout=10) as stream:
        pipeline.run(RunLimits(max_frames=30))
        head = stream.read(65536)
    start = head.index(b"\xff\xd8")
    jpeg = cv2.imdecode(np.frombuffer(head[start:], np.uint8), cv2.IMREAD_COLOR)
    assert jpeg is not None and jpeg.shape[:2] == (70, 100)  # a drawn frame of the source
    state = dashboard.state()
    assert state["counters"]["frames_published"] == 30
    assert state["stats"]["frames_total"] == 30 and state["stats"]["model"] == "tiny"
    assert state["detections"]["tiles_total"] == 12
    kinds = [json.loads(line)["kind"] for line in out.read_text().splitlines()]
    assert kinds.count("detections") == 30
