"""What the loop holds across frames (issue 17, item 9): full frames alive at once stay
bounded by the queue, and no Python structure grows frame after frame.

All run the real loop (capture thread, queue, frame processor, sinks, telemetry) on a
looping folder of small frames; RSS is left to ``bench/memory.py`` and ``bench/soak.py``.
Growth is looked for in the objects the garbage collector tracks (every list, dict, tuple or
instance kept) and in the entries of the containers the pipeline reaches. tracemalloc is not
used: the allocations numpy makes on behalf of ``firmware_py``'s lines keep growing for some
hundreds of frames while numpy's internal caches fill (then hold still: 77 KB after 600 frames
of the 1080p clip, the same after 2,400), which a fast test cannot tell from a leak.
"""

from __future__ import annotations

import gc
import weakref
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np

from firmware_py.board import BoardConfig
from firmware_py.pipeline.frame import FrameProcessor, FrameResult
from firmware_py.pipeline.runner import Pipeline, RunLimits
from firmware_py.sinks import create_sink
from firmware_py.sources import Streams
from firmware_py.sources.capture import CaptureConfig
from firmware_py.sources.folder import FolderConfig, FolderSource
from firmware_py.telemetry import Telemetry, TelemetryEmitter


class WatchedFolder(FolderSource):
    """The real folder source, keeping a weak reference to every frame it hands out."""

    def __init__(self, config: FolderConfig) -> None:
        super().__init__(config)
        self.handed: list[weakref.ref[np.ndarray]] = []
        self.before_read: list[int] = []  # frames alive each time a read starts

    def read(self) -> Streams | None:
        self.before_read.append(self.alive())
        streams = super().read()
        if streams is not None:
            self.handed.append(weakref.ref(streams.main))
        return streams

    def alive(self) -> int:
        return sum(ref() is not None for ref in self.handed)


def _pipeline(model, frames_dir: Path, tmp_path: Path, queue_size: int) -> Pipeline:
    board = BoardConfig.model_validate({"merge": {"score_threshold": 0.05}})
    source = WatchedFolder(FolderConfig(path=str(frames_dir), loop=True))
    sinks = [create_sink({"type": "jsonl", "path": str(tmp_path / "out.jsonl")})]
    # small windows: every counter reaches its bound within the first frames
    emitter = TelemetryEmitter(Telemetry(window_s=0.2, capacity=16), sinks,
                               tmp_path / "stats.jsonl", period_s=0.05)
    return Pipeline(FrameProcessor(board, model, "sparse"), source, sinks, "dev1", emitter,
                    CaptureConfig(drop=False, queue_size=queue_size, fps_window_s=0.2))


def test_full_frames_alive_at_once_are_the_queue_plus_one(model, frames_dir, tmp_path
                                                         ) -> None:
    for queue_size in (1, 2):
        pipeline = _pipeline(model, frames_dir, tmp_path, queue_size)
        source = pipeline.source
        most: list[int] = []
        pipeline.on_frame = lambda result, s=source, m=most: m.append(s.alive())
        pipeline.run(RunLimits(max_frames=24))
        # while a frame is processed: it and the queue's; none read early and waiting in the
        # capture thread beside a full queue
        assert max(most) <= queue_size + 1, (queue_size, most)
        # when the next read starts there is room in the queue, and the loop, waiting for a
        # frame, no longer holds the one it finished
        assert max(source.before_read) <= queue_size, (queue_size, source.before_read)


def census(root: object) -> Counter[str]:
    """Objects the garbage collector tracks, per type, and (``items``) the entries of the
    lists, dicts and sets reachable from ``root``: a kept array is untracked, but its slot is
    counted. Deques are left out of ``items``: every one in the loop is a time window, whose
    length follows the frame rate."""
    gc.collect()
    count = Counter(type(o).__name__ for o in gc.get_objects())
    seen, todo = {id(root)}, [root]
    while todo:
        obj = todo.pop()
        if type(obj) in (list, dict, set):
            count["items"] += len(obj)
        for ref in gc.get_referents(obj):
            if id(ref) not in seen and not isinstance(ref, (type, ModuleType)):
                seen.add(id(ref))
                todo.append(ref)
    return count


def test_no_tracked_object_piles_up_frame_after_frame(model, frames_dir, tmp_path) -> None:
    warmup, span = 30, 60
    pipeline = _pipeline(model, frames_dir, tmp_path, 1)
    pipeline.source = FolderSource(FolderConfig(path=str(frames_dir), loop=True))  # unwatched
    counts: list[Counter[str]] = []

    def take(result: FrameResult) -> None:
        if pipeline.frames + 1 in (warmup, warmup + span, warmup + 2 * span):
            counts.append(census(pipeline))

    pipeline.on_frame = take
    pipeline.run(RunLimits(max_frames=warmup + 2 * span))
    assert len(counts) == 3
    # one object or one entry kept per frame grows by span in both spans
    grown = [{k: after[k] - before[k] for k in after if after[k] - before[k] >= span // 2}
             for before, after in zip(counts, counts[1:], strict=False)]
    assert not (grown[0] and grown[1]), grown
