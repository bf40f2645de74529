"""Tracks with stable ids over the merged detections of each frame (issue 16, item 5), and the
motion the carry uses for tiles not run this frame.

Association follows ByteTrack (Zhang et al., "ByteTrack: Multi-Object Tracking by
Associating Every Detection Box", arXiv 2110.06864, Sec. 3): detections scoring at least
``high_score`` are matched to the tracks first, the lower-scoring ones then to the tracks
left, so a weak detection never takes a track from a strong one. What we do differently,
for a small tested module on a Pi Zero 2 W instead of a dependency (ByteTrack's packages pull
in ``lap``/``cython_bbox``/``scipy``, or torch):

- Matching score: buffered IoU (Yang et al., "Hard to Track Objects with Irregular Motions
  and Similar Appearances? Make It Easier by Buffering the Matching Space", arXiv 2211.14317,
  Sec. 3.2): both boxes are widened by ``buffer`` of their size (and at least ``buffer_px``
  pixels) on each side before the IoU, because a 5 px object that moves 3 px between runs
  has no plain IoU with its last box. Pairs are taken greedily by descending buffered IoU,
  one to one, above ``min_overlap`` (tracks are few; greedy matching is what SORT-like
  trackers fall back to, and avoids an assignment solver). Class-agnostic, as the merge: a
  tiny object's class flickers.
- Motion: a constant-velocity alpha-beta filter per track on the box centre (the steady
  state of a Kalman filter for that model; Kalata, "The tracking index", IEEE TAES 1984)
  with gains ``alpha`` and ``beta``, handling the gaps of sparse sampling: a track seen
  ``dt`` frames ago is predicted ``dt`` frames ahead, and the velocity correction is divided
  by ``dt``. The second sighting sets the velocity from the two positions. From the third
  on, each track keeps a running estimate (an EMA, weight ``ERROR_EMA``) of its prediction
  error per frame unseen (``|residual| / dt``): what tells the prior how long the carry can
  hold it. The size is an EMA of the detections' sizes (weight ``SIZE_EMA``): a carried box
  of a 5 px object built from several noisy detections overlaps it better than the last one
  alone (replayed on the 1280x720 still-objects clip while developing: recall 0.787 with the
  last detection's size, 0.817 with the EMA).
- Life: every detection that matches no track starts one, with a new id (ids are never
  reused). A track a run tile could have seen (its predicted box inside the window of a
  tile that ran) but no detection matched is *missed*: a track seen only once is then
  dropped at once (ByteTrack drops unconfirmed tracks unmatched in their next frame: most
  are the detector's one-frame false positives); the others count their consecutive misses
  (``misses``) and are dropped once unmatched for more than ``max_lost`` frames.
- What is reported: a detection keeps its own box and score and gets its track's id. A track
  unmatched this frame is *carried* (reported at its predicted box, its score decayed by
  ``decay ** frames unseen``, flagged interpolated) only if no tile that ran could have seen
  it (its predicted box does not lie inside a run tile's window): where a tile ran and found
  nothing, the object is not reported, as in dense mode. Carried tracks expire after
  ``max_age`` unseen frames or below ``min_score`` (the carry settings), and are not
  reported over a fresh detection they overlap (IoU above ``overlap``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from firmware_py.boxgrid import cross_pairs
from firmware_py.nms import max_overlap
from firmware_py.nms import overlap as pair_overlap

ERROR_EMA = 0.5  # weight of the old prediction error in its running estimate
SIZE_EMA = 0.7  # weight of the old box size in its running estimate


class TrackerConfig(BaseModel):
    """Association and motion of :class:`Tracker` (a board profile's ``tracks``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    high_score: float = Field(0.5, ge=0.0, le=1.0, description="detections at or above this "
                              "are associated first (ByteTrack's high-score stage)")
    min_overlap: float = Field(0.05, gt=0.0, le=1.0, description="buffered IoU a detection "
                               "and a track's predicted box need to match")
    buffer: float = Field(0.5, ge=0.0, le=5.0, description="boxes are widened by this share "
                          "of their size on each side before matching (buffered IoU)")
    buffer_px: float = Field(3.0, ge=0.0, le=100.0, description="... and by at least this "
                             "many pixels")
    alpha: float = Field(0.7, gt=0.0, le=1.0, description="position gain of the alpha-beta "
                         "filter")
    beta: float = Field(0.3, ge=0.0, le=2.0, description="velocity gain of the alpha-beta "
                        "filter")
    weak_share: float = Field(0.65, gt=0.0, le=1.0, description="sparse mode: detections "
                              "down to this share of the reported score threshold start and "
                              "extend tracks without being reported (1: off)")
    max_lost: int = Field(30, ge=0, le=100_000, description="frames a track is kept without "
                          "a matching detection")


@dataclass(frozen=True)
class Carried:
    """Tracks reported without a detection this frame (frame pixels)."""

    boxes: np.ndarray  # (C, 4) float32 predicted xyxy
    scores: np.ndarray  # (C,) float32 decayed
    labels: np.ndarray  # (C,) int64
    ids: np.ndarray  # (C,) int64


def buffered(boxes: np.ndarray, scale: float, pixels: float) -> np.ndarray:
    """``(K, 4)`` boxes widened on each side by ``max(scale * side, pixels)`` per axis."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    pad = np.maximum(scale * (boxes[:, 2:] - boxes[:, :2]), pixels)  # (K, 2)
    return np.concatenate([boxes[:, :2] - pad, boxes[:, 2:] + pad], axis=1)


def greedy_pairs(rows: np.ndarray, cols: np.ndarray, score: np.ndarray, minimum: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one ``(rows, cols)`` out of candidate pairs ``(rows[k], cols[k])`` scoring
    ``score[k]``, greedily by descending score (ties by row, then column), pairs scoring at
    least ``minimum`` only."""
    out_r, out_c = [], []
    used_r, used_c = set(), set()
    for k in np.lexsort((cols, rows, -np.asarray(score))):
        if score[k] < minimum:
            break
        r, c = int(rows[k]), int(cols[k])
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            out_r.append(r)
            out_c.append(c)
    return np.asarray(out_r, np.int64), np.asarray(out_c, np.int64)


class Tracker:
    """Tracks over frames; call :meth:`update` once per frame, in order."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.reset()

    def reset(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.labels = np.zeros(0, np.int64)
        self.centre = np.zeros((0, 2))  # filtered centre at the last sighting
        self.velocity = np.zeros((0, 2))  # pixels per frame
        self.size = np.zeros((0, 2))  # last detection's (w, h)
        self.score = np.zeros(0)  # last detection's score
        self.peak = np.zeros(0)  # highest score of its detections
        self.seen = np.zeros(0, np.int64)  # frame of the last sighting
        self.hits = np.zeros(0, np.int64)
        self.error = np.zeros(0)  # prediction error, pixels per frame unseen (NaN: unknown)
        self.misses = np.zeros(0, np.int64)  # consecutive frames missed where visible
        self.view = np.zeros(0, np.int64)  # tile of the last matched detection (-1: none)
        self._visible = np.zeros(0, bool)  # this frame: could a run tile see it?
        self._next_id = 0

    def __len__(self) -> int:
        return len(self.ids)

    def predict(self, frame: int) -> np.ndarray:
        """``(T, 4)`` float64 predicted boxes at ``frame``."""
        centre = self.centre + self.velocity * (frame - self.seen)[:, None]
        return np.concatenate([centre - self.size / 2, centre + self.size / 2], axis=1)

    def _associate(self, predicted: np.ndarray, boxes: np.ndarray, scores: np.ndarray
                   ) -> np.ndarray:
        """``(K,)`` track row matched to each detection (-1: none), in two stages."""
        cfg = self.config
        match = np.full(len(boxes), -1, np.int64)
        if not len(boxes) or not len(predicted):
            return match
        near, far = (buffered(b, cfg.buffer, cfg.buffer_px) for b in (boxes, predicted))
        det, track = cross_pairs(near, far)  # only boxes that touch: no (K, T) matrix
        iou = pair_overlap(near[det], far[track])
        free = np.ones(len(predicted), bool)
        for stage in (scores >= cfg.high_score, scores < cfg.high_score):
            pick = stage[det] & free[track]
            r, c = greedy_pairs(det[pick], track[pick], iou[pick], cfg.min_overlap)
            match[r] = c
            free[c] = False
        return match

    def update(self, frame: int, boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
               windows: np.ndarray | None = None, tiles: np.ndarray | None = None,
               ran: np.ndarray | None = None) -> np.ndarray:
        """Associate this frame's detections (``xyxy`` frame pixels) with the tracks and
        update them; ``windows`` (``(R, 4)`` xyxy) are the tiles run this frame (None: the
        whole frame was seen) and ``ran`` their indices, ``tiles`` the tile that found each
        detection (None: -1). Returns each detection's track id ``(K,)`` int64.

        A track's ``view`` becomes the tile of its matched detection when it had none or its
        view ran this frame: then the merge kept the best of the views that ran. A view that
        did not run keeps its place, so a worse view run for another object's sake does not
        take over from the tile that sees the object best."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64).reshape(-1)
        labels = np.asarray(labels, np.int64).reshape(-1)
        tiles = np.full(len(boxes), -1, np.int64) if tiles is None else \
            np.asarray(tiles, np.int64).reshape(-1)
        self._keep(frame - self.seen <= self.config.max_lost)
        predicted = self.predict(frame)
        match = self._associate(predicted, boxes, scores)
        hit = match >= 0
        matched = np.zeros(len(self), bool)
        matched[match[hit]] = True
        visible = inside_any(predicted, windows)
        self.misses = np.where(matched, 0, self.misses + (visible & ~matched))
        self._correct(frame, match[hit], boxes[hit], scores[hit], labels[hit])
        rows, old = match[hit], self.view[match[hit]]
        self.view[rows] = np.where((old < 0) | (ran is None) | np.isin(old, ran), tiles[hit], old)
        self._visible = visible | matched
        tentative_lost = visible & ~matched & (self.hits == 1)
        ids = np.empty(len(boxes), np.int64)
        ids[hit] = self.ids[match[hit]]
        self._keep(~tentative_lost)
        self._birth(frame, boxes[~hit], scores[~hit], labels[~hit], tiles[~hit])
        ids[~hit] = self.ids[len(self.ids) - int((~hit).sum()):]
        return ids

    def _correct(self, frame: int, rows: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                 labels: np.ndarray) -> None:
        cfg = self.config
        dt = (frame - self.seen[rows]).clip(1)[:, None].astype(np.float64)  # (M, 1)
        observed = (boxes[:, :2] + boxes[:, 2:]) / 2
        predicted = self.centre[rows] + self.velocity[rows] * dt
        residual = observed - predicted
        error = np.hypot(residual[:, 0], residual[:, 1]) / dt[:, 0]
        known = ~np.isnan(self.error[rows])
        self.error[rows] = np.where(self.hits[rows] == 1, np.nan, np.where(
            known, ERROR_EMA * self.error[rows] + (1 - ERROR_EMA) * error, error))
        first = (self.hits[rows] == 1)[:, None]  # second sighting: velocity from two points
        self.velocity[rows] = np.where(first, (observed - self.centre[rows]) / dt,
                                       self.velocity[rows] + cfg.beta * residual / dt)
        self.centre[rows] = np.where(first, observed, predicted + cfg.alpha * residual)
        size = boxes[:, 2:] - boxes[:, :2]
        self.size[rows] = SIZE_EMA * self.size[rows] + (1 - SIZE_EMA) * size
        self.score[rows], self.labels[rows] = scores, labels
        self.peak[rows] = np.maximum(self.peak[rows], scores)
        self.seen[rows] = frame
        self.hits[rows] += 1

    def _birth(self, frame: int, boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
               tiles: np.ndarray) -> None:
        n = len(boxes)
        self.ids = np.concatenate([self.ids, self._next_id + np.arange(n, dtype=np.int64)])
        self._next_id += n
        self.labels = np.concatenate([self.labels, labels])
        self.centre = np.concatenate([self.centre, (boxes[:, :2] + boxes[:, 2:]) / 2])
        self.velocity = np.concatenate([self.velocity, np.zeros((n, 2))])
        self.size = np.concatenate([self.size, boxes[:, 2:] - boxes[:, :2]])
        self.score = np.concatenate([self.score, scores])
        self.peak = np.concatenate([self.peak, scores])
        self.seen = np.concatenate([self.seen, np.full(n, frame, np.int64)])
        self.hits = np.concatenate([self.hits, np.ones(n, np.int64)])
        self.error = np.concatenate([self.error, np.full(n, np.nan)])
        self.misses = np.concatenate([self.misses, np.zeros(n, np.int64)])
        self.view = np.concatenate([self.view, tiles])
        self._visible = np.concatenate([self._visible, np.ones(n, bool)])

    def _keep(self, keep: np.ndarray) -> None:
        for name in ("ids", "labels", "centre", "velocity", "size", "score", "peak", "seen", "hits",
                     "error", "misses", "view", "_visible"):
            setattr(self, name, getattr(self, name)[keep])

    def carried(self, frame: int, fresh: np.ndarray, decay: float, max_age: int,
                min_score: float, overlap: float) -> Carried:
        """The tracks not seen at ``frame`` that no run tile could have seen (see
        :meth:`update`, called first for this frame), at their predicted boxes with decayed
        scores; none over a ``fresh`` box (``(K, 4)``) at IoU above ``overlap``."""
        age = frame - self.seen
        boxes = self.predict(frame)
        scores = self.score * decay ** age
        keep = (age > 0) & (age <= max_age) & ~self._visible & (scores >= min_score)
        if len(fresh) and keep.any():
            keep[keep] = max_overlap(boxes[keep], fresh) <= overlap
        return Carried(boxes[keep].astype(np.float32), scores[keep].astype(np.float32),
                       self.labels[keep], self.ids[keep])


def inside_any(boxes: np.ndarray, windows: np.ndarray | None) -> np.ndarray:
    """``(K,)`` bool: each ``xyxy`` box lies wholly inside one of ``windows`` (``(R, 4)``;
    None: everywhere)."""
    if windows is None:
        return np.ones(len(boxes), bool)
    win = np.asarray(windows, np.float64).reshape(-1, 1, 4)  # (R, 1, 4)
    return ((boxes[None, :, :2] >= win[..., :2]) & (boxes[None, :, 2:] <= win[..., 2:])
            ).all(axis=2).any(axis=0)
