"""Frame-by-frame comparison of two ``specks run --jsonl`` streams (a board against x86).

Per frame id, boxes of the same class are paired greedily by IoU, highest first (the
matching rule of COCO evaluation, here between two detectors instead of detector and ground
truth). A pair counts as matched when its IoU reaches ``min_iou`` and its scores differ by
at most ``max_score_diff``; every other box is *missing* (x86 has it, the board does not) or
*extra*, so a pair out of tolerance counts once as each. A frame present in one stream only
counts all its boxes as missing or extra. The streams agree when both hold the same frames,
at least one, and nothing is missing or extra.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firmware_py.nms import pairwise_overlap


@dataclass(frozen=True)
class Tolerance:
    min_iou: float = 0.9
    max_score_diff: float = 0.02


@dataclass
class MatchSummary:
    """Counts over a whole stream; ``min_iou``/``max_score_diff`` are over matched pairs."""

    frames_reference: int = 0
    frames_board: int = 0
    boxes_reference: int = 0
    boxes_board: int = 0
    matched: int = 0
    missing: int = 0  # reference boxes without a match on the board
    extra: int = 0  # board boxes without a match in the reference
    min_iou: float = 1.0
    max_score_diff: float = 0.0
    frames_tiles_differ: int = 0  # frames where the sampler ran another number of tiles

    @property
    def agree(self) -> bool:
        return (self.frames_reference == self.frames_board > 0 and self.missing == 0
                and self.extra == 0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "agree": self.agree}


def read_frames(path: Path) -> dict[int, Mapping[str, Any]]:
    """The detection messages of a JSONL file by frame id (stats lines are skipped)."""
    frames = {}
    for line in Path(path).read_text().splitlines():
        payload = json.loads(line)
        if payload.get("kind") == "detections":
            frames[int(payload["frame_id"])] = payload
    return frames


def _boxes(frame: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if frame is None:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    return (np.asarray(frame["boxes"], np.float64).reshape(-1, 4),
            np.asarray(frame["scores"], np.float64), np.asarray(frame["classes"], np.int64))


def pair(ref: Mapping[str, Any] | None, board: Mapping[str, Any] | None
         ) -> list[tuple[float, float]]:
    """(IoU, |score difference|) of each greedily paired box of one class in one frame."""
    rb, rs, rc = _boxes(ref)
    bb, bs, bc = _boxes(board)
    iou = pairwise_overlap(rb, bb, "iou") if len(rb) and len(bb) else np.zeros((len(rb),
                                                                                 len(bb)))
    iou = np.where(rc[:, None] == bc[None, :], iou, -1.0)  # (N_ref, N_board)
    pairs = []
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] <= 0.0:
            break
        pairs.append((float(iou[i, j]), abs(float(rs[i] - bs[j]))))
        iou[i, :] = iou[:, j] = -1.0
    return pairs


def compare(reference: Mapping[int, Mapping[str, Any]], board: Mapping[int, Mapping[str, Any]],
            tol: Tolerance = Tolerance()) -> MatchSummary:
    """Compare two streams of detection messages keyed by frame id."""
    s = MatchSummary(frames_reference=len(reference), frames_board=len(board))
    for frame_id in sorted(set(reference) | set(board)):
        ref, got = reference.get(frame_id), board.get(frame_id)
        n_ref, n_got = len(_boxes(ref)[1]), len(_boxes(got)[1])
        good = [(iou, d) for iou, d in pair(ref, got)
                if iou >= tol.min_iou and d <= tol.max_score_diff]
        s.boxes_reference += n_ref
        s.boxes_board += n_got
        s.matched += len(good)
        s.missing += n_ref - len(good)
        s.extra += n_got - len(good)
        s.min_iou = min([s.min_iou, *(iou for iou, _ in good)])
        s.max_score_diff = max([s.max_score_diff, *(d for _, d in good)])
        if ref is not None and got is not None and ref["tiles_run"] != got["tiles_run"]:
            s.frames_tiles_differ += 1
    return s


def compare_files(reference: Path, board: Path, tol: Tolerance = Tolerance()) -> MatchSummary:
    return compare(read_frames(reference), read_frames(board), tol)
