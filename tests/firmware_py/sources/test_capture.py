"""Capture thread: bounded drop-oldest queues, frame stamping, lores, reconnect with backoff."""

import threading
import time

import cv2
import numpy as np
import pytest

from firmware_py.sources import (
    Frame,
    FrameSource,
    SourceConfig,
    SourceError,
    SourceUnavailable,
    Streams,
)
from firmware_py.sources.capture import (
    Backoff,
    Capture,
    CaptureConfig,
    LatestFrames,
    RateWindow,
)

FAST = CaptureConfig(backoff_initial_s=0.02, backoff_factor=2.0, backoff_max_s=0.08)


def frame(i: int) -> Frame:
    image = np.zeros((4, 4, 3), np.uint8)
    return Frame(i, float(i), float(i), image, image, "t")


class CountingSource(FrameSource):
    """A stand-in of the interface: frame ``i`` is filled with ``i % 256``; ``limit`` ends it."""

    def __init__(self, limit: int | None = None, period: float = 0.0,
                 size: tuple[int, int] = (64, 48)) -> None:
        super().__init__(SourceConfig(name="counting", lores_size=(16, 12)))
        self.limit, self.period, self.size = limit, period, size
        self.produced = 0
        self.opens = 0

    def open(self) -> None:
        self.opens += 1

    def read(self) -> Streams | None:
        if self.limit is not None and self.produced >= self.limit:
            return None
        time.sleep(self.period)
        self.produced += 1
        w, h = self.size
        return Streams(np.full((h, w, 3), (self.produced - 1) % 256, np.uint8))

    def close(self) -> None:
        pass


class FlakySource(CountingSource):
    """A stand-in of the interface: delivers ``k`` frames, then fails a read, then refuses
    ``refusals`` reopens, then works again."""

    def __init__(self, k: int, refusals: int) -> None:
        super().__init__()
        self.k, self.refusals = k, refusals
        self.open_times: list[float] = []
        self.failed = False

    def open(self) -> None:
        self.open_times.append(time.monotonic())
        if self.failed and self.refusals > 0:
            self.refusals -= 1
            raise SourceError("camera unplugged")
        super().open()

    def read(self) -> Streams | None:
        if self.produced == self.k and not self.failed:
            self.failed = True
            raise SourceError("read timed out")
        return super().read()


def test_latest_frames_keeps_the_newest_two_and_counts_drops() -> None:
    queue = LatestFrames(2)
    for i in range(5):
        queue.put(frame(i))
        assert len(queue) <= 2
    assert queue.dropped == 3
    assert [queue.get(0).frame_id, queue.get(0).frame_id] == [3, 4]
    assert queue.get(timeout=0.01) is None


def test_latest_frames_close_wakes_a_waiting_consumer_and_drains() -> None:
    queue = LatestFrames(2)
    queue.put(frame(0))
    queue.close()
    assert [f.frame_id for f in queue] == [0]
    waiter = LatestFrames(2)
    threading.Timer(0.05, waiter.close).start()
    t = time.monotonic()
    assert waiter.get(timeout=2.0) is None
    assert time.monotonic() - t < 1.0


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(0.5, 2.0, 3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_rate_window_counts_only_recent_ticks() -> None:
    rate = RateWindow(1.0)
    for i in range(20):
        rate.tick(10.0 + i * 0.1)  # 10 fps for 2 s
    assert rate.rate(11.9) == pytest.approx(10.0)
    assert rate.rate(20.0) == 0.0


def test_slow_consumer_gets_recent_frames_and_every_frame_is_accounted_for() -> None:
    source = CountingSource(limit=60, period=0.001)
    capture = Capture(source, FAST)
    queue = capture.attach()
    got = []
    with capture:
        while (f := queue.get(timeout=2.0)) is not None:
            assert len(queue) <= 2
            got.append(f.frame_id)
            time.sleep(0.01)  # ten times slower than the camera
    stats = capture.stats()
    assert got == sorted(got) and len(set(got)) == len(got)
    assert stats.frames == 60 and stats.dropped > 0
    assert len(got) + stats.dropped == 60  # each frame is either consumed or dropped
    assert got[-1] == 59  # the newest frame is never the one dropped


def test_frames_are_stamped_readonly_and_get_an_area_downscaled_lores() -> None:
    source = CountingSource(limit=2)
    capture = Capture(source, FAST)
    queue = capture.attach(maxsize=2)  # both frames fit: none can be dropped
    t0, w0 = time.monotonic(), time.time()
    with capture:
        frames = list(queue)
    assert [f.frame_id for f in frames] == [0, 1]
    assert all(f.source == "counting" for f in frames)
    assert [f.t_monotonic for f in frames] == sorted(f.t_monotonic for f in frames)
    assert frames[0].t_monotonic >= t0 and abs(frames[0].t_wall - w0) < 5.0
    f = frames[1]
    assert f.main.shape == (48, 64, 3) and f.lores.shape == (12, 16, 3)
    expected = cv2.resize(np.full((48, 64, 3), 1, np.uint8), (16, 12),
                          interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(f.lores, expected)
    with pytest.raises(ValueError):
        f.main[0, 0, 0] = 1


def test_every_consumer_gets_its_own_queue_of_at_most_two() -> None:
    capture = Capture(CountingSource(limit=2), FAST)
    with pytest.raises(ValueError):
        capture.attach(maxsize=3)
    a, b = capture.attach(maxsize=2), capture.attach(maxsize=2)
    with capture:
        assert [f.frame_id for f in a] == [0, 1]
        assert [f.frame_id for f in b] == [0, 1]


def test_a_failing_source_is_reopened_with_backoff_and_the_gap_is_reported() -> None:
    source = FlakySource(k=3, refusals=2)
    capture = Capture(source, FAST)
    queue = capture.attach()
    ids = []
    with capture:
        while len(ids) < 6:
            f = queue.get(timeout=2.0)
            assert f is not None, "the capture stopped delivering after the failure"
            ids.append(f.frame_id)
        stats = capture.stats()
    # ids keep counting across the reconnect (a slow consumer may miss a dropped frame)
    assert ids == sorted(set(ids)) and ids[-1] >= 5
    assert stats.reconnects == 1 and stats.failures == 3  # one lost read, two refused opens
    assert "camera unplugged" in stats.last_error
    # open at start, then reopens after waits of 0.02, 0.04, 0.08 s (exponential backoff)
    waits = np.diff(source.open_times)
    assert len(waits) == 3
    for wait, backoff in zip(waits, (0.02, 0.04, 0.08), strict=True):
        assert wait >= backoff * 0.9
    assert stats.gap_s >= 0.02 + 0.04 + 0.08 - 0.01


def test_an_outage_in_progress_counts_in_the_gap_and_the_pipeline_keeps_running() -> None:
    source = FlakySource(k=2, refusals=10**6)
    capture = Capture(source, FAST)
    queue = capture.attach(maxsize=2)  # both frames fit: none can be dropped
    with capture:
        assert [queue.get(2.0).frame_id, queue.get(2.0).frame_id] == [0, 1]
        deadline = time.monotonic() + 10.0  # a loaded machine may starve the capture thread
        while capture.stats().failures < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        first, later = capture.stats(), None
        time.sleep(0.1)
        later = capture.stats()
        assert capture.running and not later.connected
    assert first.gap_s >= 0.25 and later.gap_s > first.gap_s
    assert later.failures >= 3 and later.reconnects == 0
    assert queue.get(0.1) is None  # stop closed the queue


def test_max_attempts_gives_up_and_closes_the_queues() -> None:
    source = FlakySource(k=0, refusals=10**6)
    capture = Capture(source, CaptureConfig(backoff_initial_s=0.01, backoff_max_s=0.01,
                                            max_attempts=3))
    queue = capture.attach()
    capture.start()
    assert queue.get(timeout=2.0) is None
    capture.join(2.0)
    stats = capture.stats()
    assert not capture.running and stats.failures == 3
    assert stats.failed == "gave up after 3 failures in a row: SourceError: camera unplugged"


class MissingFile(CountingSource):
    def open(self) -> None:
        self.opens += 1
        raise SourceUnavailable("no such video file clip.mp4")


def test_an_unavailable_source_is_not_retried() -> None:
    source = MissingFile()
    capture = Capture(source, FAST)
    queue = capture.attach()
    capture.start()
    assert queue.get(timeout=2.0) is None
    capture.join(2.0)
    assert not capture.running and source.opens == 1
    assert capture.stats().failed == "no such video file clip.mp4"


def test_a_source_that_ends_has_not_failed() -> None:
    capture = Capture(CountingSource(limit=3), FAST.model_copy(update={"drop": False}))
    queue = capture.attach()
    capture.start()
    assert [f.frame_id for f in queue] == [0, 1, 2]
    capture.join(2.0)
    assert capture.stats().failed is None


def test_backoff_config_is_validated() -> None:
    with pytest.raises(ValueError):
        CaptureConfig(backoff_initial_s=5.0, backoff_max_s=1.0)
    with pytest.raises(ValueError):
        CaptureConfig(queue_size=3)
    with pytest.raises(ValueError):
        CaptureConfig(retries=2)
