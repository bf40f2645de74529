"""The detection message every sink sends, and the one JSON encoding they share.

One message per processed frame: the device, the run id and the message's sequence number in
the run (:mod:`~firmware_py.sinks.stamp`: ``(run_id, seq)`` is the key to drop duplicates by;
``frame_id`` restarts with each run), the capture's frame id and wall-clock timestamp,
how many detector tiles ran out of how many cover the frame (the sparse sampler's work), and
the boxes (xyxy, full-frame pixels), scores, class ids, class names, and per box whether it
was interpolated (carried forward from an earlier run of its tile) rather than detected on
this frame.

Encoding: compact JSON (UTF-8, no spaces), numpy arrays and scalars turned into lists and
Python numbers, floats rounded (boxes to 0.1 px, scores to 1e-3, timestamps to 1 ms, any other
float to 1e-4), non-finite floats written as ``null`` so every line is strict JSON. Each
payload carries ``"kind"`` (``"detections"`` or ``"stats"``) so a mixed stream (a JSONL file,
UDP datagrams) can be told apart without the MQTT topic; stats carry ``run_id`` and ``seq``
too (:class:`~firmware_py.telemetry.TelemetryEmitter` stamps them from the same counter).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

BOX_DECIMALS = 1
SCORE_DECIMALS = 3
TIME_DECIMALS = 3
FLOAT_DECIMALS = 4


class _Detections(Protocol):
    """What :func:`firmware_py.decode` returns: ``labels`` holds class ids."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class DetectionMessage:
    """Detections of one frame. Arrays are copied into fixed dtypes on construction."""

    device: str
    frame_id: int
    timestamp: float  # time.time() when the frame was captured
    tiles_run: int
    tiles_total: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # (N, 4)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (N,)
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (N,)
    labels: tuple[str, ...] = ()  # (N,) class names
    interpolated: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (N,)
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (N,) -1: none
    run_id: str = ""  # the run that made it (the pipeline always sets it; see .stamp)
    seq: int = 0  # its number in the run, shared with the run's stats

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)  # (N, 4)
        scores = np.asarray(self.scores, np.float32).reshape(-1)  # (N,)
        classes = np.asarray(self.classes, np.int64).reshape(-1)  # (N,)
        labels = tuple(str(name) for name in self.labels)
        n = len(boxes)
        interpolated = np.asarray(self.interpolated, bool).reshape(-1)  # (N,)
        if not interpolated.size and n:
            interpolated = np.zeros(n, bool)
        track_ids = np.asarray(self.track_ids, np.int64).reshape(-1)  # (N,)
        if not track_ids.size and n:
            track_ids = np.full(n, -1, np.int64)
        if len(track_ids) != n:
            raise ValueError(f"{n} boxes but {len(track_ids)} track ids")
        if not len(scores) == len(classes) == len(labels) == len(interpolated) == n:
            raise ValueError(f"boxes, scores, classes, labels and interpolated differ in "
                             f"length: {n}, {len(scores)}, {len(classes)}, {len(labels)}, "
                             f"{len(interpolated)}")
        if not 0 <= self.tiles_run <= self.tiles_total:
            raise ValueError(f"tiles_run {self.tiles_run} not in [0, {self.tiles_total}]")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "interpolated", interpolated)
        object.__setattr__(self, "track_ids", track_ids)

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def from_detections(cls, device: str, frame_id: int, timestamp: float, tiles_run: int,
                        tiles_total: int, detections: _Detections, names: Sequence[str],
                        run_id: str = "", seq: int = 0) -> DetectionMessage:
        """Build from decoded detections (whose ``labels`` are class ids), naming each class
        from ``names``; an id outside ``names`` is named by its number. Detections with an
        ``interpolated`` mask and ``tracks`` ids (the pipeline's ``FrameDetections``) keep
        them; others are fresh and untracked."""
        classes = np.asarray(detections.labels, np.int64).reshape(-1)
        labels = tuple(names[c] if 0 <= c < len(names) else str(c) for c in classes.tolist())
        interpolated = getattr(detections, "interpolated", np.zeros(len(classes), bool))
        tracks = getattr(detections, "tracks", None)
        return cls(device, frame_id, timestamp, tiles_run, tiles_total, detections.boxes,
                   detections.scores, classes, labels, interpolated,
                   np.zeros(0, np.int64) if tracks is None else tracks, run_id, seq)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "detections",
            "device": self.device,
            "run_id": self.run_id,
            "seq": int(self.seq),
            "frame_id": int(self.frame_id),
            "timestamp": round(float(self.timestamp), TIME_DECIMALS),
            "tiles_run": int(self.tiles_run),
            "tiles_total": int(self.tiles_total),
            "boxes": _rounded(self.boxes, BOX_DECIMALS),
            "scores": _rounded(self.scores, SCORE_DECIMALS),
            "classes": self.classes.tolist(),
            "labels": list(self.labels),
            "interpolated": self.interpolated.tolist(),
            "track_ids": self.track_ids.tolist(),
        }

    def to_json(self) -> bytes:
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DetectionMessage:
        """Inverse of :meth:`to_dict` (up to rounding), for consumers and tests."""
        return cls(payload["device"], payload["frame_id"], payload["timestamp"],
                   payload["tiles_run"], payload["tiles_total"], payload["boxes"],
                   payload["scores"], payload["classes"], tuple(payload["labels"]),
                   payload["interpolated"], payload.get("track_ids", ()),
                   payload.get("run_id", ""), payload.get("seq", 0))


def _rounded(array: np.ndarray, decimals: int) -> list[Any]:
    # float64 before rounding: float32 values print as e.g. 0.30000001192092896.
    return np.round(array.astype(np.float64), decimals).tolist()


def jsonable(value: Any, decimals: int = FLOAT_DECIMALS) -> Any:
    """``value`` with numpy arrays and scalars, tuples and mappings turned into JSON types,
    floats rounded to ``decimals`` and non-finite floats into ``None``."""
    if isinstance(value, DetectionMessage):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), decimals)
    if isinstance(value, np.generic):
        return jsonable(value.item(), decimals)
    if isinstance(value, float):
        return round(value, decimals) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, decimals) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, decimals) for v in value]
    return value


def dumps(payload: Any) -> bytes:
    """Compact strict JSON of ``jsonable(payload)`` as UTF-8."""
    return json.dumps(jsonable(payload), separators=(",", ":"), allow_nan=False,
                      ensure_ascii=False).encode()


def stats_payload(stats: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A stats mapping as a self-describing payload: ``{"kind": "stats", **stats, **extra}``."""
    return {"kind": "stats", **stats, **extra}
