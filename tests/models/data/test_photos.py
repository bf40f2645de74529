"""Real photographs as backgrounds and negatives (``models/data/photos.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from models.data.photos import HELDOUT, TRAIN, load_photos, photo_background
from models.data.synth import SynthConfig, background, synth_image


def test_every_photograph_loads_as_rgb_and_the_bench_set_is_apart() -> None:
    assert not set(TRAIN) & set(HELDOUT)
    for photo in load_photos(TRAIN) + load_photos(HELDOUT):
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        assert min(photo.shape[:2]) >= 300


def test_a_background_covers_any_frame_at_native_detail_and_is_seeded() -> None:
    image = photo_background(np.random.default_rng(0), 1080, 1920)
    assert image.shape == (1080, 1920, 3) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 255
    again = photo_background(np.random.default_rng(0), 1080, 1920)
    np.testing.assert_array_equal(image, again)
    one = photo_background(np.random.default_rng(0), 300, 300, ("astronaut.png",))
    astronaut = load_photos(("astronaut.png",))[0].astype(np.float32)
    assert one.std() > 10 and abs(one.mean() - astronaut.mean()) < 0.3 * astronaut.mean()


def test_a_photo_scene_without_objects_is_a_real_negative() -> None:
    cfg = SynthConfig(width=320, height=320, photos=1.0, background_prob=1.0)
    scene = synth_image(cfg, 3)
    plain = synth_image(SynthConfig(width=320, height=320, background_prob=1.0), 3)
    assert scene.boxes.shape == (0, 4) and not np.array_equal(scene.image, plain.image)


def test_without_photos_the_random_stream_is_unchanged() -> None:
    # the scene's first draws are background()'s, as before the option existed
    cfg = SynthConfig(width=320, height=320, photos=0.0, distractors=(0, 0), noise=0.0,
                      background_prob=1.0)
    expected = background(np.random.default_rng([5, 1]), 320, 320)
    np.testing.assert_array_equal(synth_image(cfg, [5, 1]).image,
                                  np.clip(expected, 0, 255).astype(np.uint8))


@pytest.mark.parametrize(("fields", "name"), [({"photos": 1.5}, "photos"),
                                              ({"photo_set": "val"}, "photo_set")])
def test_bad_photo_fields_are_named(fields, name) -> None:
    with pytest.raises(ValueError, match=name):
        SynthConfig(**fields)
