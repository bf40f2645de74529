"""Synth clip source: reads what the host's write_clip writes, with cv2 and json only."""

from pathlib import Path

import numpy as np
import pytest

from firmware_py.sources import SourceError, create_source
from firmware_py.sources.capture import Capture, CaptureConfig
from models.data.synth import SynthConfig, read_clip, synth_clip, write_clip

CFG = SynthConfig(width=96, height=64, max_size=16, noise=0.0)
FRAMES = 4


@pytest.mark.parametrize("video", [False, True])
def test_clip_frames_and_truth_match_the_generator(tmp_path: Path, video: bool) -> None:
    write_clip(tmp_path, CFG, FRAMES, seed=3, fps=100.0, video=video)
    meta, records = read_clip(tmp_path)
    scenes = list(synth_clip(CFG, FRAMES, seed=3))
    source = create_source({"type": "synth", "path": str(tmp_path), "loop": False})
    with source:
        got = [source.read() for _ in range(FRAMES)]
        assert source.read() is None
        for streams, record in zip(got, records, strict=True):
            np.testing.assert_allclose(np.reshape(source.truth(streams.index)["boxes"], (-1, 4)),
                                       np.asarray(record.boxes).reshape(-1, 4))
    assert source.meta["fps"] == meta["fps"] == 100.0
    for streams, scene in zip(got, scenes, strict=True):
        assert streams.main.shape == (64, 96, 3)
        error = np.abs(streams.main.astype(int) - scene.image.astype(int)).mean()
        assert error < (6.0 if video else 1e-9)  # PNG is lossless, mp4v is not


def test_looping_clip_through_the_capture_thread(tmp_path: Path) -> None:
    write_clip(tmp_path, CFG, 2, seed=0, fps=200.0, video=False)
    source = create_source({"type": "synth", "path": str(tmp_path), "lores_size": (48, 32)})
    capture = Capture(source, CaptureConfig(drop=False))  # every frame, however slow the reader
    queue = capture.attach()
    with capture:
        frames = [queue.get(2.0) for _ in range(4)]
    assert [f.source_index for f in frames] == [0, 1, 0, 1]
    assert frames[0].lores.shape == (32, 48, 3)


def test_a_folder_that_is_not_a_clip_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a synth clip"):
        create_source({"type": "synth", "path": str(tmp_path)}).open()
