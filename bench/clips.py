"""Shared by the sparse-sampling benches (``bench/pipeline.py``, ``bench/sparse_curves.py``):
the synthetic scenes with fixed seeds, frames as the device sees them, scoring against the
clips' truth (recall, precision, and CLEAR-MOT figures of the track ids), and a replay
detector.

Scenes (``models/data/synth.py`` and ``synth_video.py``; 4-32 px objects):

- ``few``: 2-5 moving objects (a sky with a few drones or birds);
- ``many``: 8-16 moving objects (most tiles hold something);
- ``static``: 3-8 objects that never move (frame differencing is blind to them);
- ``pan``: 3-8 moving objects, the camera pans 1.0 px/frame right and 0.25 down (differencing
  lights every tile);
- ``enter``: 2-4 objects, and 8 more enter from the frame edges during the clip;
- ``flicker``: 3-8 moving objects under +-10 % flicker with a horizontal tilt;
- ``photo``: 2-5 moving objects over a still mosaic of real photographs that no dataset trains
  on (``models/data/photos.py``'s ``HELDOUT``: a garage with a motorcycle, a rocket on its pad,
  a portrait): every box that overlaps no object sits on static real structure (issue 15,
  item 6).

Scoring (per frame, summed over the clip): a detection matches an unmatched object of any class
at IoU >= ``iou``, greedily by score. CLEAR MOT (Bernardin and Stiefelhagen, "Evaluating
Multiple Object Tracking Performance: The CLEAR MOT Metrics", EURASIP JIVP 2008, Sec. 2.1):
each frame, an object keeps its previous track if that track's box still matches it, the
rest are matched greedily by IoU; an ID switch is an object matched to another track than at
its last match; ``MOTA = 1 - (misses + false positives + switches) / objects``.

The replay detector (:class:`ReplayModel`) stands in for a bundle: a tile's decoded detections
are looked up by the tile's bytes, and a tile not seen before runs through the real model
(:class:`ReplaySaliency` does the same for the saliency prior's maps).
The detector is a function of the tile's pixels, so replaying a clip through the real prior,
sampler, carry and merge gives the detections a live run would, at a fraction of the time;
``bench/sparse_curves.py`` checks that on one point per clip.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firmware_py.nms import max_overlap, pairwise_overlap

SEED = 11
SCENES: dict[str, dict[str, Any]] = {
    "few": {"objects": (2, 5)},
    "many": {"objects": (8, 16)},
    "static": {"objects": (3, 8), "clip": {"still": 1.0}},
    "pan": {"objects": (3, 8), "clip": {"pan": (1.0, 0.25)}},
    "enter": {"objects": (2, 4), "clip": {"entering": 8}},
    "flicker": {"objects": (3, 8), "clip": {"flicker": 0.1}},
    "photo": {"objects": (2, 5), "photos": 1.0, "photo_set": "heldout"},
}


def write_scene(folder: Path, scene: str, frames: int, width: int = 1920, height: int = 1080,
                seed: int = SEED, video: bool = True) -> None:
    """Write clip ``scene`` (``SCENES``) to ``folder`` as mp4 or PNG frames (host side:
    imports ``models``)."""
    from models.data.synth import SynthConfig, write_clip
    from models.data.synth_video import ClipConfig

    spec = SCENES[scene]
    cfg = SynthConfig(width=width, height=height, min_size=4, max_size=32,
                      objects=spec["objects"], photos=spec.get("photos", 0.0),
                      photo_set=spec.get("photo_set", "train"))
    clip = ClipConfig(**spec["clip"]) if "clip" in spec else None
    write_clip(folder, cfg, frames, seed=seed, clip=clip, video=video)


def clip_frames(clip: Path, lores_size: tuple[int, int]) -> Iterator[tuple[Any, dict, float]]:
    """``(Frame, truth row, seconds to read and make lores)`` for every frame of ``clip``,
    as the capture thread makes them (``INTER_AREA`` lores)."""
    import cv2

    from firmware_py.sources import Frame, create_source

    source = create_source({"type": "synth", "path": str(clip), "realtime": False,
                            "loop": False})
    source.open()
    try:
        n = 0
        while True:
            t = time.perf_counter()
            streams = source.read()
            if streams is None:
                return
            lores = cv2.resize(streams.main, lores_size, interpolation=cv2.INTER_AREA)
            frame = Frame(n, time.monotonic(), time.time(), streams.main, lores, "bench",
                          streams.index)
            yield frame, source.truth(streams.index), time.perf_counter() - t
            n += 1
    finally:
        source.close()


def match(gt: np.ndarray, boxes: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """``(hit (G,) bool, which (G,) int)``: per object, matched or not and the index of its
    detection (-1); detections are in descending score order and matched greedily."""
    hit, which = np.zeros(len(gt), bool), np.full(len(gt), -1)
    if len(gt) == 0 or len(boxes) == 0:
        return hit, which
    overlap = pairwise_overlap(boxes, gt)  # (D, G)
    for d, row in enumerate(overlap):
        row = np.where(hit, -1.0, row)
        j = int(np.argmax(row))
        if row[j] >= iou:
            hit[j], which[j] = True, d
    return hit, which


BACKGROUND_IOU = 0.1


def on_background(gt: np.ndarray, boxes: np.ndarray) -> int:
    """Detections whose IoU with every object is under ``BACKGROUND_IOU``: boxes on the
    background, not loose boxes on an object."""
    return int((max_overlap(boxes, gt) < BACKGROUND_IOU).sum())


@dataclass
class Score:
    """Detection and tracking figures of one clip, accumulated frame by frame."""

    iou: float = 0.5
    objects: int = 0
    hits: int = 0
    small: int = 0
    small_hits: int = 0
    detections: int = 0
    matched: int = 0
    background: int = 0  # detections that overlap no object (IoU < BACKGROUND_IOU with all)
    switches: int = 0
    tiles: int = 0
    frames: int = 0
    _last: dict[int, int] = field(default_factory=dict)  # object track -> detection track

    def add(self, truth: dict, boxes: np.ndarray, tracks: np.ndarray | None,
            tiles: int) -> None:
        gt = np.asarray(truth["boxes"], np.float32).reshape(-1, 4)
        ids = np.asarray(truth["track_ids"], np.int64).reshape(-1)
        hit, which = self._match(gt, ids, boxes, tracks)
        side = np.maximum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1])
        tiny = (side >= 4) & (side <= 16)
        self.objects += len(gt)
        self.hits += int(hit.sum())
        self.small += int(tiny.sum())
        self.small_hits += int(hit[tiny].sum())
        self.detections += len(boxes)
        self.matched += int(hit.sum())
        self.background += on_background(gt, boxes)
        self.tiles += tiles
        self.frames += 1
        if tracks is not None:
            for obj, d in zip(ids[hit].tolist(), which[hit].tolist(), strict=True):
                track = int(tracks[d])
                self.switches += int(obj in self._last and self._last[obj] != track)
                self._last[obj] = track

    def _match(self, gt: np.ndarray, ids: np.ndarray, boxes: np.ndarray,
               tracks: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """CLEAR MOT: keep last frame's correspondences that still match, then greedy."""
        hit, which = np.zeros(len(gt), bool), np.full(len(gt), -1)
        taken = np.zeros(len(boxes), bool)
        if tracks is not None and len(gt) and len(boxes):
            overlap = pairwise_overlap(gt, boxes)  # (G, D)
            for g, obj in enumerate(ids.tolist()):
                same = np.flatnonzero((tracks == self._last.get(obj, -2)) & ~taken)
                if len(same) and overlap[g, same[0]] >= self.iou:
                    hit[g], which[g], taken[same[0]] = True, same[0], True
        rest = np.flatnonzero(~taken)
        more, where = match(gt[~hit], boxes[rest], self.iou)
        todo = np.flatnonzero(~hit)
        hit[todo[more]], which[todo[more]] = True, rest[where[more]]
        return hit, which

    def summary(self) -> dict[str, float]:
        misses = self.objects - self.hits
        false = self.detections - self.matched
        return {"recall": self.hits / max(self.objects, 1),
                "recall_4_16px": self.small_hits / max(self.small, 1),
                "precision": self.matched / max(self.detections, 1),
                "boxes_per_frame": self.detections / max(self.frames, 1),
                "background_share": self.background / max(self.detections, 1),
                "tiles_per_frame": self.tiles / max(self.frames, 1),
                "id_switches": self.switches,
                "mota": 1 - (misses + false + self.switches) / max(self.objects, 1)}


class ReplayModel:
    """A :class:`~firmware_py.pipeline.model.BundleModel` stand-in that looks each tile's
    decoded detections up by the tile's bytes (BLAKE2b), running the real ``model`` on a
    tile not seen before. ``raw`` returns the key, ``decode`` the detections at or above the
    threshold asked for: tiles are decoded once at ``FLOOR``, below any threshold a profile
    uses (the decode keeps heatmap peaks without suppression, so filtering by score later
    gives what decoding at the higher threshold gives)."""

    FLOOR = 0.1

    def __init__(self, model: Any, cache: dict[bytes, Any] | None = None) -> None:
        self.model = model
        self.cache: dict[bytes, Any] = {} if cache is None else cache
        self.tile_size = model.tile_size
        self.labels = model.labels
        self.manifest = model.manifest
        self.runs = 0

    def raw(self, tile: np.ndarray) -> bytes:
        key = hashlib.blake2b(np.ascontiguousarray(tile).data, digest_size=16).digest()
        if key not in self.cache:
            self.cache[key] = self.model.decode(self.model.raw(tile), self.FLOOR)
            self.runs += 1
        return key

    def decode(self, key: bytes, threshold: float | None = None) -> Any:
        found = self.cache[key]
        keep = found.scores >= (self.manifest.decode.score_threshold if threshold is None
                                else threshold)
        return type(found)(found.boxes[keep], found.scores[keep], found.labels[keep])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(self.cache))

    @staticmethod
    def load(path: Path) -> dict[bytes, Any]:
        return pickle.loads(path.read_bytes()) if path.is_file() else {}


class ReplaySaliency:
    """The same for a saliency bundle: each map looked up by its input image's bytes."""

    def __init__(self, model: Any) -> None:
        self.model, self.tile_size, self.cache = model, model.tile_size, {}
        self.runs = 0

    def saliency(self, image: np.ndarray) -> np.ndarray:
        key = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).digest()
        if key not in self.cache:
            self.cache[key] = self.model.saliency(image)
            self.runs += 1
        return self.cache[key]


def ensure_scene(folder: Path, scene: str = "few", frames: int = 90, width: int = 1920,
                 height: int = 1080) -> Path:
    """``folder`` holding clip ``scene`` as mp4, written first if it is not there."""
    if not (folder / "meta.json").is_file():
        write_scene(folder, scene, frames, width, height)
    return folder
