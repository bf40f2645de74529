"""Video file source: a small mp4 written here with cv2.VideoWriter, read back in order."""

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from firmware_py.sources import SourceError, create_source
from firmware_py.sources.file import FileConfig, FileSource

W, H, N = 64, 48, 6


def colour(i: int) -> tuple[int, int, int]:
    """A distinct RGB colour per frame (flat, so mp4v keeps it within a few levels)."""
    return (40 * i, 255 - 40 * i, 128)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 50.0, (W, H))
    assert writer.isOpened()
    for i in range(N):
        writer.write(np.full((H, W, 3), colour(i)[::-1], np.uint8))  # VideoWriter takes BGR
    writer.release()
    return path


def read_all(source: FileSource, limit: int = 100) -> list:
    out = []
    with source:
        while len(out) < limit and (streams := source.read()) is not None:
            out.append(streams)
    return out


def test_reads_every_frame_in_order_as_rgb_then_ends(video: Path) -> None:
    frames = read_all(FileSource(FileConfig(path=str(video), realtime=False)))
    assert [f.index for f in frames] == list(range(N))
    for i, f in enumerate(frames):
        assert f.main.shape == (H, W, 3) and f.main.dtype == np.uint8 and f.lores is None
        np.testing.assert_allclose(f.main.reshape(-1, 3).mean(0), colour(i), atol=6)


def test_loop_rewinds_to_the_first_frame(video: Path) -> None:
    frames = read_all(FileSource(FileConfig(path=str(video), realtime=False, loop=True)),
                      limit=N + 2)
    assert [f.index for f in frames] == [*range(N), 0, 1]
    np.testing.assert_array_equal(frames[N].main, frames[0].main)


def test_realtime_paces_at_the_file_frame_rate(video: Path) -> None:
    source = FileSource(FileConfig(path=str(video)))
    t = time.monotonic()
    frames = read_all(source)
    elapsed = time.monotonic() - t
    assert len(frames) == N
    assert source.fps == pytest.approx(50.0)
    assert elapsed >= (N - 1) / 50.0 * 0.9  # 6 frames at 50 fps span at least 0.1 s


def test_fps_overrides_the_file_rate(video: Path) -> None:
    t = time.monotonic()
    read_all(FileSource(FileConfig(path=str(video), fps=20.0)))
    assert time.monotonic() - t >= (N - 1) / 20.0 * 0.9


def test_missing_file_is_a_source_error_and_config_is_strict(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such video file"):
        create_source({"type": "file", "path": str(tmp_path / "none.mp4")}).open()
    with pytest.raises(ValueError):
        FileConfig(path="x.mp4", speed=2)
    with pytest.raises(ValueError):
        FileConfig(fps=-1.0)


@pytest.mark.parametrize("threads", [1, 2, 0])
def test_decoder_threads_are_asked_for_and_frames_still_come_in_order(video: Path,
                                                                      threads: int) -> None:
    source = FileSource(FileConfig(path=str(video), realtime=False, threads=threads))
    _, _, params = source.capture_args()
    assert params == ([cv2.CAP_PROP_N_THREADS, threads] if threads else [])
    with source:
        if threads:
            assert source._cap.get(cv2.CAP_PROP_N_THREADS) == threads
        frames = [source.read() for _ in range(N)]
    means = [streams.main.reshape(-1, 3).mean(axis=0) for streams in frames]
    for i, mean in enumerate(means):
        np.testing.assert_allclose(mean, colour(i), atol=6)
