"""The harder clips: still objects stay put, a pan moves the whole scene, objects enter from
the edges, flicker changes the light; all deterministic by seed."""

import numpy as np
import pytest

from models.data.synth import SynthConfig, synth_clip
from models.data.synth_video import ClipConfig

CFG = SynthConfig(width=256, height=160, min_size=4, max_size=16, objects=(3, 5))


def clip(frames: int = 12, **kwargs) -> list:
    return list(synth_clip(CFG, frames, seed=4, clip=ClipConfig(**kwargs)))


def test_still_objects_never_move() -> None:
    scenes = clip(still=1.0)
    for scene in scenes[1:]:
        np.testing.assert_array_equal(scene.boxes, scenes[0].boxes)
        np.testing.assert_array_equal(scene.track_ids, scenes[0].track_ids)


def test_a_pan_moves_the_scene_and_its_still_objects_by_the_pan() -> None:
    scenes = clip(frames=11, still=1.0, pan=(2.0, 1.0))
    first, last = scenes[0], scenes[-1]
    both = np.intersect1d(first.track_ids, last.track_ids)
    assert len(both) > 0
    for track in both:
        a = first.boxes[first.track_ids == track][0]
        b = last.boxes[last.track_ids == track][0]
        if (a[[0, 1]] > 0).all() and (b[[0, 1]] > 0).all():  # not clipped at the edge
            np.testing.assert_allclose(b - a, [-20, -10, -20, -10])
    # the background moves too: frame 10 at (x, y) is frame 0 at (x + 20, y + 10)
    grey = [s.image.astype(float).mean(axis=2) for s in (first, last)]
    same = np.abs(grey[1][10:100, 10:200] - grey[0][20:110, 30:220]).mean()
    other = np.abs(grey[1][10:100, 10:200] - grey[0][10:100, 10:200]).mean()
    assert same < 0.5 * other


def test_entering_objects_come_in_across_the_edge_during_the_clip() -> None:
    scenes = clip(frames=40, entering=4)
    first_ids = set(scenes[0].track_ids.tolist())
    new = {}
    for t, scene in enumerate(scenes):
        for track, b in zip(scene.track_ids.tolist(), scene.boxes, strict=True):
            if track not in first_ids and track not in new:
                new[track] = (t, b)
    assert len(new) >= 3
    for t, b in new.values():
        assert t > 0
        edge = min(b[0], b[1], CFG.width - b[2], CFG.height - b[3])
        assert edge <= 8  # first seen at the frame's edge


def test_flicker_changes_the_light_from_frame_to_frame() -> None:
    steady = [s.image.mean() for s in clip()]
    flicker = [s.image.mean() for s in clip(flicker=0.1)]
    assert np.std(np.diff(flicker)) > 5 * np.std(np.diff(steady))


def test_clips_are_deterministic_and_boxes_stay_in_the_frame() -> None:
    a, b = clip(pan=(1.0, 0.5), entering=2, flicker=0.05), clip(pan=(1.0, 0.5), entering=2,
                                                                flicker=0.05)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.boxes, y.boxes)
        assert (x.boxes[:, :2] >= 0).all() and (x.boxes[:, 2] <= CFG.width).all()
        assert (x.boxes[:, 3] <= CFG.height).all()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="still"):
        ClipConfig(still=1.5)
    with pytest.raises(ValueError, match="flicker"):
        ClipConfig(flicker=1.0)
