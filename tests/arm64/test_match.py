"""The lane's frame-by-frame detection comparison: what counts as the same detections."""

from __future__ import annotations

import json

import pytest

from tests.arm64.match import Tolerance, compare, compare_files


def frame(frame_id: int, boxes: list, scores: list, classes: list | None = None,
          tiles_run: int = 2) -> dict:
    return {"kind": "detections", "frame_id": frame_id, "tiles_run": tiles_run,
            "boxes": boxes, "scores": scores,
            "classes": classes if classes is not None else [0] * len(scores)}


BOX_A, BOX_B = [100.0, 100.0, 120.0, 120.0], [500.0, 300.0, 510.0, 312.0]


def test_identical_streams_agree() -> None:
    ref = {0: frame(0, [BOX_A, BOX_B], [0.9, 0.5]), 1: frame(1, [], [])}
    s = compare(ref, ref)
    assert s.agree and s.matched == 2 and s.missing == s.extra == 0
    assert s.min_iou == pytest.approx(1.0) and s.max_score_diff == 0.0


def test_order_within_a_frame_does_not_matter() -> None:
    ref = {0: frame(0, [BOX_A, BOX_B], [0.9, 0.5])}
    board = {0: frame(0, [BOX_B, BOX_A], [0.51, 0.89])}
    s = compare(ref, board)
    assert s.agree and s.matched == 2
    assert s.max_score_diff == pytest.approx(0.01)


@pytest.mark.parametrize("box, score, cls", [
    ([102.0, 100.0, 122.0, 120.0], 0.9, 0),  # IoU 0.82 < 0.9
    (BOX_A, 0.87, 0),  # scores 0.03 apart
    (BOX_A, 0.9, 1),  # another class
])
def test_a_box_out_of_tolerance_is_missing_and_extra(box: list, score: float,
                                                     cls: int) -> None:
    ref = {0: frame(0, [BOX_A], [0.9])}
    s = compare(ref, {0: frame(0, [box], [score], [cls])})
    assert not s.agree and s.matched == 0 and s.missing == 1 and s.extra == 1


def test_a_box_within_tolerance_matches() -> None:
    ref = {0: frame(0, [BOX_A], [0.9])}
    s = compare(ref, {0: frame(0, [[100.5, 100.0, 120.5, 120.0]], [0.885])})
    assert s.agree and 0.9 <= s.min_iou < 1.0


def test_missing_frames_and_boxes_are_counted() -> None:
    ref = {0: frame(0, [BOX_A], [0.9]), 1: frame(1, [BOX_A, BOX_B], [0.9, 0.4])}
    s = compare(ref, {0: frame(0, [BOX_A], [0.9])})
    assert not s.agree and s.missing == 2 and s.extra == 0
    assert (s.frames_reference, s.frames_board) == (2, 1)


def test_empty_streams_do_not_agree() -> None:
    assert not compare({}, {}).agree


def test_tiles_run_differences_are_reported() -> None:
    s = compare({0: frame(0, [], [], tiles_run=2)}, {0: frame(0, [], [], tiles_run=3)})
    assert s.agree and s.frames_tiles_differ == 1


def test_files_skip_stats_lines(tmp_path) -> None:
    lines = [frame(0, [BOX_A], [0.9]), {"kind": "stats", "inference_fps": 3.0}]
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    s = compare_files(path, path, Tolerance(min_iou=0.99, max_score_diff=0.0))
    assert s.agree and s.frames_reference == 1 and s.matched == 1
