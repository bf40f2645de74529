"""Harder synthetic clips for sparse sampling (issue 16, item 4): objects that never move, a
slowly panning camera, objects entering from the frame edge, and lighting flicker. Each one
defeats a cue of the device's tile prior: frame differencing is blind to still objects, and
lights every tile when the camera pans or the light flickers; objects that enter appear where
no detection was. Deterministic by seed, like :mod:`.synth`.

Choices of ours:

- World and view. The scene (background, clutter, objects) lives on a world canvas larger
  than the frame: a margin of ``max_size + 8`` pixels on every side (room for objects waiting
  to enter) plus the distance the camera pans over the clip. Each frame is the
  ``width x height`` view at the camera's position, which starts at the margin and moves by
  ``pan`` pixels per frame (sub-pixel positions are rounded per frame, so the image moves in
  whole pixels as an integer-shift camera would).
- Truth. An object's box is its world box minus the view origin, clipped to the frame; it is
  in the frame's truth when at least half of its area is inside the frame, so a half-entered
  object counts and a sliver at the edge does not. Track ids are the objects' indices.
- Still objects. A share ``still`` of the objects never moves (zero velocity, no wander).
- Entering objects. ``entering`` extra objects start just outside a random side of the frame
  at frames spread evenly over the clip, heading inward at their class's speed (within 45
  degrees of the side's normal); before their start they are off-screen.
- Motion. Moving objects move as in :func:`.synth.synth_clip` (per-class speed, wander) and
  bounce off the world's edges.
- Flicker. Each frame is multiplied by a smooth illumination field ``1 + a + b (x / W -
  0.5)``, ``a`` drawn per frame from ``[-flicker, flicker]`` and ``b`` from ``[-flicker / 2,
  flicker / 2]`` (a global step plus a horizontal tilt: gain compensation alone cannot undo
  it), before the sensor noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from .synth import (
    SPEED,
    Scene,
    SynthConfig,
    _finish,
    _move,
    _new_object,
    _Object,
    _paste,
    _place,
    background,
    distractors,
)


@dataclass(frozen=True)
class ClipConfig:
    """What makes a clip hard; the defaults give a plain static-camera clip."""

    still: float = 0.0  # share of the objects that never move
    pan: tuple[float, float] = (0.0, 0.0)  # camera velocity, pixels per frame (x, y)
    entering: int = 0  # objects that enter from a frame edge during the clip
    flicker: float = 0.0  # amplitude of the per-frame illumination change (0.1 = +-10 %)

    def __post_init__(self) -> None:
        if not 0.0 <= self.still <= 1.0:
            raise ValueError(f"still must be a share in [0, 1], got {self.still}")
        if self.entering < 0 or not 0.0 <= self.flicker < 1.0:
            raise ValueError(f"need entering >= 0 and 0 <= flicker < 1, got {self.entering}, "
                             f"{self.flicker}")


def _margin(cfg: SynthConfig) -> int:
    return cfg.max_size + 8


def _world(cfg: SynthConfig, clip: ClipConfig, frames: int) -> tuple[int, int, int]:
    """``(margin, world width, world height)``."""
    margin = _margin(cfg)
    travel = [math.ceil(abs(v) * max(frames - 1, 0)) for v in clip.pan]
    return margin, cfg.width + 2 * margin + travel[0], cfg.height + 2 * margin + travel[1]


def _view_origins(clip: ClipConfig, frames: int, margin: int) -> np.ndarray:
    """``(frames, 2)`` int view origins in world pixels; a negative pan starts at the far
    side, so the view stays inside the world."""
    t = np.arange(frames)[:, None]
    pan = np.asarray(clip.pan, dtype=np.float64)[None]
    start = margin + np.where(pan < 0, np.ceil(-pan * max(frames - 1, 0)), 0)
    return np.round(start + pan * t).astype(np.int64)


def _entering(rng: np.random.Generator, cfg: SynthConfig, view: np.ndarray, width: int,
              height: int) -> _Object:
    """An object just outside a random side of the view at ``view``, heading inward."""
    obj = _new_object(rng, cfg)
    oh, ow = obj.alpha.shape
    side = int(rng.integers(4))  # 0 left, 1 right, 2 top, 3 bottom
    x0, y0 = view
    if side < 2:
        obj.x = float(x0 - ow if side == 0 else x0 + cfg.width)
        obj.y = float(y0 + rng.integers(0, cfg.height - oh + 1))
        normal = 0.0 if side == 0 else math.pi
    else:
        obj.x = float(x0 + rng.integers(0, cfg.width - ow + 1))
        obj.y = float(y0 - oh if side == 2 else y0 + cfg.height)
        normal = math.pi / 2 if side == 2 else -math.pi / 2
    heading = normal + rng.uniform(-math.pi / 4, math.pi / 4)
    speed = rng.uniform(*SPEED[cfg.classes[obj.cls]])
    obj.vx, obj.vy = speed * math.cos(heading), speed * math.sin(heading)
    obj.x = float(np.clip(obj.x, 0, width - ow))
    obj.y = float(np.clip(obj.y, 0, height - oh))
    return obj


def _truth(objects: list[tuple[int, _Object]], view: np.ndarray, cfg: SynthConfig
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (frame pixels, clipped), labels and track ids of the objects at least half in
    the frame."""
    rows = []
    for track, obj in objects:
        box = np.asarray(obj.box, np.float64) - np.tile(view, 2)
        clipped = np.clip(box, 0, [cfg.width, cfg.height] * 2)
        area = (box[2] - box[0]) * (box[3] - box[1])
        inside = (clipped[2] - clipped[0]) * (clipped[3] - clipped[1])
        if inside >= 0.5 * area:
            rows.append((clipped, obj.cls, track))
    boxes = np.asarray([r[0] for r in rows], np.float32).reshape(-1, 4)
    return (boxes, np.asarray([r[1] for r in rows], np.int64),
            np.asarray([r[2] for r in rows], np.int64))


def _flicker(rng: np.random.Generator, image: np.ndarray, amplitude: float) -> np.ndarray:
    a = rng.uniform(-amplitude, amplitude)
    b = rng.uniform(-amplitude / 2, amplitude / 2)
    x = np.linspace(-0.5, 0.5, image.shape[1], dtype=np.float32)[None, :, None]  # (1, W, 1)
    return image * (1 + a + b * x)


def hard_clip(cfg: SynthConfig, clip: ClipConfig, frames: int, seed: int = 0
              ) -> Iterator[Scene]:
    """A clip of ``frames`` scenes with ``clip``'s difficulties; see the module notes."""
    rng = np.random.default_rng(seed)
    margin, width, height = _world(cfg, clip, frames)
    world = background(rng, height, width)
    area = (width * height) / (cfg.width * cfg.height)
    distractors(rng, world, round(area * int(rng.integers(cfg.distractors[0],
                                                             cfg.distractors[1] + 1))))
    views = _view_origins(clip, frames, margin)
    objects: list[tuple[int, _Object]] = []
    count = int(rng.integers(max(1, cfg.objects[0]), max(1, cfg.objects[1]) + 1))
    for k in range(count):
        obj = _new_object(rng, cfg)
        x0, y0 = views[0]
        _place(rng, obj, [o.box for _, o in objects], cfg.width, cfg.height)
        obj.x, obj.y = obj.x + x0, obj.y + y0
        if rng.random() >= clip.still:
            speed, heading = rng.uniform(*SPEED[cfg.classes[obj.cls]]), rng.uniform(0, 2 * np.pi)
            obj.vx, obj.vy = speed * np.cos(heading), speed * np.sin(heading)
        objects.append((k, obj))
    starts = np.linspace(0, frames, clip.entering, endpoint=False).astype(int)
    arrivals = {int(t): [] for t in starts}
    for t in starts:
        arrivals[int(t)].append(_entering(rng, cfg, views[int(t)], width, height))
    for t in range(frames):
        for obj in arrivals.get(t, []):
            objects.append((len(objects), obj))
        yield _frame(rng, world, objects, views[t], cfg, clip)
        for _, obj in objects:
            if obj.vx or obj.vy:
                _move(rng, obj, width, height)


def _frame(rng: np.random.Generator, world: np.ndarray, objects: list[tuple[int, _Object]],
           view: np.ndarray, cfg: SynthConfig, clip: ClipConfig) -> Scene:
    """The view at ``view``: objects are pasted on the view widened by the margin (every
    object that reaches into the view fits there whole), then the view is cut out."""
    m = _margin(cfg)
    x0, y0 = int(view[0]) - m, int(view[1]) - m
    canvas = world[y0:y0 + cfg.height + 2 * m, x0:x0 + cfg.width + 2 * m].copy()
    for _, obj in objects:
        local = replace(obj, x=obj.x - x0, y=obj.y - y0)
        bx0, by0, bx1, by1 = local.box
        if bx0 >= 0 and by0 >= 0 and bx1 <= canvas.shape[1] and by1 <= canvas.shape[0]:
            _paste(canvas, local)
    image = canvas[m:m + cfg.height, m:m + cfg.width]
    if clip.flicker:
        image = _flicker(rng, image, clip.flicker)
    boxes, labels, tracks = _truth(objects, view, cfg)
    return Scene(_finish(rng, image, cfg.noise), boxes, labels, tracks)
