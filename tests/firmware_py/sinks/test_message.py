"""The detection message and the shared JSON encoding."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from firmware_py.sinks.message import DetectionMessage, dumps, jsonable, stats_payload


def test_message_json_has_every_field_rounded_and_round_trips():
    msg = DetectionMessage("cam1", 42, 1700000000.123456, 3, 12,
                           np.array([[10.04, 20.06, 30.0, 40.55]], np.float32),
                           np.array([0.87654], np.float32), np.array([2]), ("bird",),
                           np.array([True]), run_id="0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b",
                           seq=7)
    payload = json.loads(msg.to_json())
    assert payload == {"kind": "detections", "device": "cam1",
                       "run_id": "0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b", "seq": 7, "frame_id": 42,
                       "timestamp": 1700000000.123, "tiles_run": 3, "tiles_total": 12,
                       "boxes": [[10.0, 20.1, 30.0, 40.5]], "scores": [0.877],
                       "classes": [2], "labels": ["bird"], "interpolated": [True],
                       "track_ids": [-1]}
    back = DetectionMessage.from_dict(payload)
    assert back.frame_id == 42 and back.labels == ("bird",) and back.interpolated.tolist() == [True]
    assert (back.run_id, back.seq) == ("0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b", 7)
    np.testing.assert_allclose(back.boxes, [[10.0, 20.1, 30.0, 40.5]], atol=1e-4)


def test_empty_message_encodes_empty_lists():
    payload = json.loads(DetectionMessage("cam1", 0, 0.0, 0, 4).to_json())
    assert payload["boxes"] == [] and payload["scores"] == [] and payload["labels"] == []


def test_from_detections_names_classes():
    dets = SimpleNamespace(boxes=np.zeros((2, 4), np.float32),
                           scores=np.array([0.9, 0.5], np.float32), labels=np.array([1, 7]))
    msg = DetectionMessage.from_detections("cam1", 1, 0.0, 1, 1, dets, ["person", "bird"])
    assert msg.labels == ("bird", "7") and msg.classes.tolist() == [1, 7]
    assert msg.interpolated.tolist() == [False, False]
    assert msg.track_ids.tolist() == [-1, -1]


def test_track_ids_come_from_the_detections_and_round_trip():
    dets = SimpleNamespace(boxes=np.zeros((2, 4), np.float32),
                           scores=np.array([0.9, 0.5], np.float32), labels=np.array([0, 1]),
                           interpolated=np.array([False, True]), tracks=np.array([4, 17]))
    msg = DetectionMessage.from_detections("cam1", 1, 0.0, 1, 1, dets, ["person", "bird"])
    payload = json.loads(msg.to_json())
    assert payload["track_ids"] == [4, 17]
    assert DetectionMessage.from_dict(payload).track_ids.tolist() == [4, 17]
    del payload["track_ids"]  # a message from firmware without tracks still reads
    assert DetectionMessage.from_dict(payload).track_ids.tolist() == [-1, -1]
    with pytest.raises(ValueError, match="track ids"):
        DetectionMessage("d", 0, 0.0, 1, 4, [[0, 0, 1, 1]], [0.5], [0], ("a",), [False], [1, 2])


@pytest.mark.parametrize("bad", [dict(scores=[0.1, 0.2]), dict(tiles_run=5)])
def test_inconsistent_message_is_rejected(bad):
    fields = dict(device="d", frame_id=0, timestamp=0.0, tiles_run=1, tiles_total=4,
                  boxes=[[0, 0, 1, 1]], scores=[0.5], classes=[0], labels=("a",))
    with pytest.raises(ValueError):
        DetectionMessage(**{**fields, **bad})


def test_stats_encoding_handles_numpy_and_non_finite_values():
    stats = {"fps": np.float32(29.970001), "tiles": np.arange(3), "power_mw": float("nan"),
             "nested": {"t": (1.234567, np.int64(5))}}
    assert jsonable(stats) == {"fps": 29.97, "tiles": [0, 1, 2], "power_mw": None,
                               "nested": {"t": [1.2346, 5]}}
    line = dumps(stats_payload(stats))
    assert b" " not in line and json.loads(line)["kind"] == "stats"
