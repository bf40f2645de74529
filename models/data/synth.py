"""Synthetic small-object scenes: textured backgrounds, tiny objects of a few classes, clutter,
and optional motion over a clip. Deterministic by seed (``numpy.random.Generator``).

No paper defines this generator; its choices:

- Background: multi-octave value noise (random grids upsampled bicubically, amplitude halving
  per octave) mapped through a random 3-5 colour palette, plus a linear illumination gradient,
  soft blurred blobs ("clouds", "trees") and, half the time, a faint terrain band below a
  noisy horizon.
- Classes (``CLASSES``): ``drone`` (X frame, rotor discs, hub), ``bird`` (chevron),
  ``vehicle`` (rotated two-tone rectangle), ``person`` (upright ellipse + head dot). Each
  object is rendered at 4x supersampling, cropped to its drawn pixels and area-resized so
  its longer side is exactly ``size`` pixels, with ``size`` log-uniform in
  ``[min_size, max_size]`` (small objects are the common case). The box is the sprite's
  extent, so it is tight: every border row and column of the box holds object coverage.
- Contrast: each object's colour is pulled toward the local background mean by a factor
  ``contrast`` drawn from ``[min_contrast, 1]``.
- Clutter drawn under the objects and belonging to no class: long thin lines ("wires"),
  soft blobs, semi-transparent jagged polygons ("rocks") and 1-3 px specks; then Gaussian
  sensor noise.
- Objects do not overlap in still images (rejection sampling with a 2 px margin; an object
  that finds no room after 30 tries is not drawn, so it has no box either). In clips they
  move with per-class speeds, a small random wander, and bounce off the frame edges, so
  every box stays fully inside the frame; they may cross each other (the later one is drawn
  on top; both boxes are kept).
- Image ``i`` of seed ``s`` draws from ``default_rng([s, i])``: it does not depend on how many
  images are generated. Files are PNG (lossless, so 4 px objects survive).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .boxes import ImageRecord, write_image
from .yolo import write_data_yaml, write_labels

if TYPE_CHECKING:
    from .synth_video import ClipConfig

CLASSES = ("drone", "bird", "vehicle", "person")
SUPERSAMPLE = 4
SPEED = {"drone": (1.0, 4.0), "bird": (2.0, 6.0), "vehicle": (0.5, 3.0), "person": (0.2, 1.0)}


@dataclass
class SynthConfig:
    """Scene parameters; sizes in pixels, ranges inclusive."""

    width: int = 640
    height: int = 640
    min_size: int = 4  # longer side of an object's box
    max_size: int = 40
    objects: tuple[int, int] = (2, 12)  # objects per image
    distractors: tuple[int, int] = (6, 20)  # clutter shapes per image
    min_contrast: float = 0.35
    noise: float = 3.0  # sensor noise std, grey levels
    background_prob: float = 0.1  # share of still images with no objects
    classes: tuple[str, ...] = CLASSES
    photos: float = 0.0  # share of backgrounds that are real photographs (photos.py)
    photo_set: str = "train"  # which photographs: "train", or "heldout" for benches

    def __post_init__(self) -> None:
        if not 1 <= self.min_size <= self.max_size:
            raise ValueError(f"need 1 <= min_size <= max_size, got {self.min_size}, "
                             f"{self.max_size}")
        if self.max_size + 4 > min(self.width, self.height):
            raise ValueError(f"image {self.width}x{self.height} too small for {self.max_size} px")
        if not 0 <= self.photos <= 1:
            raise ValueError(f"photos: a share in [0, 1], got {self.photos}")
        if self.photo_set not in ("train", "heldout"):
            raise ValueError(f"photo_set: 'train' or 'heldout', got {self.photo_set!r}")
        unknown = set(self.classes) - set(CLASSES)
        if unknown:
            raise ValueError(f"unknown classes {sorted(unknown)}; known: {CLASSES}")


@dataclass
class Scene:
    """One generated image (``uint8 (H, W, 3)`` RGB) and its ground truth."""

    image: np.ndarray
    boxes: np.ndarray  # (K, 4) float32 xyxy pixels
    labels: np.ndarray  # (K,) int64 indices into SynthConfig.classes
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))  # (K,)


# --- background ------------------------------------------------------------------------------

def value_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 6,
                base_cells: float = 3.0, persistence: float = 0.5) -> np.ndarray:
    """Multi-octave value noise in ``[0, 1]``, ``(H, W)`` float32."""
    out = np.zeros((h, w), np.float32)
    amplitude, total = 1.0, 0.0
    for octave in range(octaves):
        cells = base_cells * 2 ** octave
        gh, gw = max(2, round(cells * h / max(h, w)) + 2), max(2, round(cells * w / max(h, w)) + 2)
        grid = rng.random((gh, gw), dtype=np.float32)
        out += amplitude * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amplitude
        amplitude *= persistence
    out /= total
    lo, hi = out.min(), out.max()
    return (out - lo) / max(hi - lo, 1e-6)


def _palette(rng: np.random.Generator, stops: int) -> np.ndarray:
    """A 256-entry RGB look-up table through ``stops`` random colours of a shared mood."""
    hue = rng.uniform(0, 180)
    hsv = np.stack([(hue + rng.normal(0, 20, stops)) % 180, rng.uniform(20, 150, stops),
                    np.sort(rng.uniform(40, 230, stops))], 1).astype(np.uint8)[None]
    colours = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0].astype(np.float32)  # (stops, 3)
    x = np.linspace(0, 1, 256)
    return np.stack([np.interp(x, np.linspace(0, 1, stops), colours[:, c]) for c in range(3)],
                    1).astype(np.float32)  # (256, 3)


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A natural-looking textured background, float32 ``(H, W, 3)`` in ``[0, 255]``."""
    noise = value_noise(rng, h, w, base_cells=rng.uniform(1.5, 5), persistence=rng.uniform(.4, .65))
    strength = rng.uniform(0.25, 1.0)
    noise = 0.5 + strength * (noise - 0.5)
    image = _palette(rng, int(rng.integers(3, 6)))[(noise * 255).astype(np.uint8)]  # (H, W, 3)
    if rng.random() < 0.5:
        _terrain(rng, image)
    angle = rng.uniform(0, 2 * np.pi)
    xx = np.arange(w, dtype=np.float32)[None] / w  # (1, W)
    yy = np.arange(h, dtype=np.float32)[:, None] / h  # (H, 1)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy  # (H, W)
    image *= (1 + rng.uniform(0.1, 0.4) * (ramp - ramp.mean()))[..., None]
    _soft_blobs(rng, image, int(rng.integers(2, 8)))
    return image


def scene_background(rng: np.random.Generator, cfg: SynthConfig) -> np.ndarray:
    """:func:`background`, or for a ``cfg.photos`` share of scenes a mosaic of real
    photographs (:mod:`.photos`). With ``photos`` 0 the random stream is :func:`background`'s
    alone, so datasets made before the option are unchanged."""
    if cfg.photos > 0 and rng.random() < cfg.photos:
        from .photos import HELDOUT, TRAIN, photo_background

        names = HELDOUT if cfg.photo_set == "heldout" else TRAIN
        return photo_background(rng, cfg.height, cfg.width, names)
    return background(rng, cfg.height, cfg.width)


def _terrain(rng: np.random.Generator, image: np.ndarray) -> None:
    """Blend a second texture below a noisy horizon, in place."""
    h, w = image.shape[:2]
    horizon = h * rng.uniform(0.3, 0.8) + h * 0.08 * (value_noise(rng, 1, w, 4)[0] - 0.5)
    rows = np.arange(h, dtype=np.float32)[:, None]
    below = np.clip((rows - horizon[None]) / 4.0, 0, 1)[..., None]  # (H, W, 1), soft edge
    ground = _palette(rng, 3)[(value_noise(rng, h, w, 5, 8.0) * 255).astype(np.uint8)]
    image += rng.uniform(0.2, 0.5) * below * (ground - image)


def _soft_blobs(rng: np.random.Generator, image: np.ndarray, n: int) -> None:
    """Brighten/darken a few large soft regions, in place (drawn and blurred at 1/8 scale)."""
    h, w = image.shape[:2]
    sh, sw = max(8, h // 8), max(8, w // 8)
    layer = np.zeros((sh, sw), np.float32)
    for _ in range(n):
        centre = (int(rng.integers(0, sw)), int(rng.integers(0, sh)))
        axes = (int(rng.integers(1, sw // 4 + 2)), int(rng.integers(1, sh // 4 + 2)))
        cv2.ellipse(layer, centre, axes, rng.uniform(0, 180), 0, 360, rng.uniform(-1, 1), -1)
    layer = cv2.GaussianBlur(layer, (0, 0), max(sh, sw) / 30)
    layer = cv2.resize(layer, (w, h), interpolation=cv2.INTER_LINEAR)
    image *= (1 + 0.15 * layer)[..., None]


# --- clutter ---------------------------------------------------------------------------------

def _alpha_patch(image: np.ndarray, alpha: np.ndarray, x: int, y: int, rgb: np.ndarray) -> None:
    """Blend a flat colour through ``alpha`` (h, w) at (x, y), clipped to the image."""
    h, w = image.shape[:2]
    ph, pw = alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + pw, w), min(y + ph, h)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x, None]
    region = image[y0:y1, x0:x1]
    region += a * (rgb - region)


def distractors(rng: np.random.Generator, image: np.ndarray, n: int) -> None:
    """Draw ``n`` shapes of no class in place: wires, soft blobs, rocks and specks."""
    h, w = image.shape[:2]
    for kind in rng.choice(["wire", "blob", "rock", "speck"], size=n, p=[.15, .35, .3, .2]):
        rgb = rng.uniform(10, 245, 3).astype(np.float32)
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if kind == "wire":
            angle, length = rng.uniform(0, np.pi), rng.uniform(0.2, 1.0) * max(h, w)
            end = (int(x + length * np.cos(angle)), int(y + length * np.sin(angle)))
            cv2.line(image, (x, y), end, rgb.tolist(), int(rng.integers(1, 3)), cv2.LINE_AA)
            continue
        s = {"blob": rng.integers(4, 60), "rock": rng.integers(6, 50), "speck": rng.integers(1, 4)}
        size = int(s[kind])
        c = 2 * size  # patch centre; the margin leaves room for the blur
        patch = np.zeros((2 * c + 1, 2 * c + 1), np.float32)
        if kind == "rock":
            k = int(rng.integers(5, 9))
            theta = np.sort(rng.uniform(0, 2 * np.pi, k))
            radius = size * rng.uniform(0.4, 1.0, k)
            pts = np.stack([c + radius * np.cos(theta), c + radius * np.sin(theta)], 1)
            cv2.fillPoly(patch, [pts.astype(np.int32)], 1.0)
            patch *= rng.uniform(0.3, 0.9)
        else:
            axes = (size, max(1, int(size * rng.uniform(0.3, 1.0))))
            cv2.ellipse(patch, (c, c), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
            if kind == "blob":
                patch = cv2.GaussianBlur(patch, (0, 0), size / 3) * rng.uniform(0.3, 0.9)
        _alpha_patch(image, patch, x - c, y - c, rgb)


# --- objects ---------------------------------------------------------------------------------

def _jitter(rng: np.random.Generator, rgb: tuple[int, int, int], spread: float = 15) -> tuple:
    return tuple(float(v) for v in np.clip(np.add(rgb, rng.normal(0, spread, 3)), 0, 255))


def _rotate(points: np.ndarray, angle: float, centre: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return (points @ np.array([[c, s], [-s, c]]) + centre).astype(np.int32)  # (N, 2)


def _draw(alpha: np.ndarray, colour: np.ndarray, rgb: tuple, fn, *args) -> None:
    """Run one cv2 drawing call on the coverage canvas and on the colour canvas."""
    fn(alpha, *args, 255)
    fn(colour, *args, rgb)


def _drone(rng, alpha, colour, size, c):
    body = _jitter(rng, (35, 35, 40) if rng.random() < 0.75 else (225, 225, 230))
    tips = _rotate(np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]]) * 0.35 * size,
                   rng.uniform(0, np.pi / 2), c)
    arm = max(2, int(0.08 * size))
    for a, b in ((0, 1), (2, 3)):
        _draw(alpha, colour, body, lambda im, v, a=a, b=b: cv2.line(
            im, tuple(tips[a]), tuple(tips[b]), v, arm))
    rotor = _jitter(rng, (90, 90, 95))
    for tip in tips:
        _draw(alpha, colour, rotor, lambda im, v, t=tip: cv2.circle(
            im, tuple(t), max(2, int(0.15 * size)), v, -1))
    _draw(alpha, colour, body, lambda im, v: cv2.circle(im, (c, c), max(2, int(.12 * size)), v, -1))


def _bird(rng, alpha, colour, size, c):
    rgb = _jitter(rng, (55, 45, 35), 20)
    span = rng.uniform(0.15, 0.35)
    pts = _rotate(np.array([[-0.5, -span], [-0.2, 0.0], [0.0, 0.12], [0.2, 0.0], [0.5, -span]])
                  * size, rng.uniform(-0.5, 0.5), c)
    thick = max(2, int(0.1 * size))
    _draw(alpha, colour, rgb, lambda im, v: cv2.polylines(im, [pts], False, v, thick))


VEHICLE_PAINT = ((200, 30, 30), (30, 60, 200), (230, 230, 230), (230, 200, 40), (160, 160, 170))


def _vehicle(rng, alpha, colour, size, c):
    angle = rng.uniform(0, np.pi)
    body = _rotate(np.array([[-0.5, -0.22], [0.5, -0.22], [0.5, 0.22], [-0.5, 0.22]]) * size,
                   angle, c)
    glass = _rotate(np.array([[0.1, -0.17], [0.28, -0.17], [0.28, 0.17], [0.1, 0.17]]) * size,
                    angle, c)
    paint = VEHICLE_PAINT[int(rng.integers(len(VEHICLE_PAINT)))]
    _draw(alpha, colour, _jitter(rng, paint), lambda im, v: cv2.fillPoly(im, [body], v))
    _draw(alpha, colour, _jitter(rng, (30, 40, 50)), lambda im, v: cv2.fillPoly(im, [glass], v))


def _person(rng, alpha, colour, size, c):
    tilt = rng.uniform(-15, 15)
    cloth = _jitter(rng, tuple(int(v) for v in rng.integers(20, 230, 3)), 5)
    body = (c, int(c + 0.12 * size))
    _draw(alpha, colour, cloth, lambda im, v: cv2.ellipse(
        im, body, (max(2, int(0.16 * size)), int(0.36 * size)), tilt, 0, 360, v, -1))
    head = (int(c + 0.45 * size * np.sin(np.radians(-tilt))), int(c - 0.36 * size))
    _draw(alpha, colour, _jitter(rng, (200, 160, 130), 25), lambda im, v: cv2.circle(
        im, head, max(2, int(0.13 * size)), v, -1))


DRAW = {"drone": _drone, "bird": _bird, "vehicle": _vehicle, "person": _person}


def render_sprite(rng: np.random.Generator, cls: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one object -> (coverage ``(h, w)`` in ``[0, 1]``, premultiplied colour
    ``(h, w, 3)``) with ``max(h, w) == size``."""
    unit = size * SUPERSAMPLE
    c = unit  # canvas centre; the canvas is twice the unit so rotations fit
    alpha = np.zeros((2 * unit, 2 * unit), np.uint8)
    colour = np.zeros((2 * unit, 2 * unit, 3), np.float32)
    DRAW[cls](rng, alpha, colour, unit, c)
    ys, xs = np.nonzero(alpha)
    alpha = alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32) / 255
    colour = colour[ys.min():ys.max() + 1, xs.min():xs.max() + 1] * alpha[..., None]
    long_side = max(alpha.shape)
    h, w = (max(1, round(n * size / long_side)) for n in alpha.shape)
    alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA).reshape(h, w)
    colour = cv2.resize(colour, (w, h), interpolation=cv2.INTER_AREA).reshape(h, w, 3)
    return alpha, colour


@dataclass
class _Object:
    cls: int
    alpha: np.ndarray  # (h, w)
    premult: np.ndarray  # (h, w, 3)
    contrast: float
    x: float = 0.0
    y: float = 0.0
    vx: float = 0.0
    vy: float = 0.0

    @property
    def box(self) -> list[float]:
        h, w = self.alpha.shape
        x, y = round(self.x), round(self.y)
        return [x, y, x + w, y + h]


def _new_object(rng: np.random.Generator, cfg: SynthConfig) -> _Object:
    cls = int(rng.integers(len(cfg.classes)))
    size = int(round(np.exp(rng.uniform(np.log(cfg.min_size), np.log(cfg.max_size)))))
    alpha, premult = render_sprite(rng, cfg.classes[cls], size)
    return _Object(cls, alpha, premult, float(rng.uniform(cfg.min_contrast, 1.0)))


def _paste(image: np.ndarray, obj: _Object) -> None:
    """Composite in place, contrast pulled toward the local background mean."""
    x0, y0, x1, y1 = obj.box
    region = image[y0:y1, x0:x1]  # (h, w, 3)
    mean = region.mean((0, 1))
    a = obj.alpha[..., None]
    region *= 1 - a
    region += obj.contrast * obj.premult + (1 - obj.contrast) * a * mean


def _place(rng: np.random.Generator, obj: _Object, taken: list[list[float]], w: int, h: int,
           tries: int = 30) -> bool:
    oh, ow = obj.alpha.shape
    for _ in range(tries):
        obj.x, obj.y = float(rng.integers(0, w - ow + 1)), float(rng.integers(0, h - oh + 1))
        x0, y0, x1, y1 = obj.box
        if all(x1 + 2 <= t[0] or t[2] + 2 <= x0 or y1 + 2 <= t[1] or t[3] + 2 <= y0 for t in taken):
            return True
    return False


def _finish(rng: np.random.Generator, image: np.ndarray, noise: float) -> np.ndarray:
    if noise > 0:
        image = image + noise * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _scene(image: np.ndarray, objects: list[_Object], rng, cfg: SynthConfig) -> Scene:
    image = image.copy()
    for obj in objects:
        _paste(image, obj)
    return Scene(_finish(rng, image, cfg.noise),
                 np.asarray([o.box for o in objects], np.float32).reshape(-1, 4),
                 np.asarray([o.cls for o in objects], np.int64),
                 np.arange(len(objects), dtype=np.int64))


def synth_image(cfg: SynthConfig, seed: int | list[int] = 0) -> Scene:
    """One still scene."""
    rng = np.random.default_rng(seed)
    image = scene_background(rng, cfg)
    distractors(rng, image, int(rng.integers(cfg.distractors[0], cfg.distractors[1] + 1)))
    n = 0 if rng.random() < cfg.background_prob else int(rng.integers(cfg.objects[0],
                                                                      cfg.objects[1] + 1))
    objects: list[_Object] = []
    for _ in range(n):
        obj = _new_object(rng, cfg)
        if _place(rng, obj, [o.box for o in objects], cfg.width, cfg.height):
            objects.append(obj)
    return _scene(image, objects, rng, cfg)


def synth_clip(cfg: SynthConfig, frames: int, seed: int = 0, clip: ClipConfig | None = None
               ) -> Iterator[Scene]:
    """A static-camera clip: objects move and bounce off the frame edges; ``track_ids`` are
    stable across frames. Always at least ``cfg.objects[0]`` (and at least one) object.
    With ``clip`` (:class:`.synth_video.ClipConfig`), the harder clip it describes: still
    objects, a panning camera, objects entering, flicker."""
    if clip is not None:
        from .synth_video import hard_clip

        yield from hard_clip(cfg, clip, frames, seed)
        return
    rng = np.random.default_rng(seed)
    base = scene_background(rng, cfg)
    distractors(rng, base, int(rng.integers(cfg.distractors[0], cfg.distractors[1] + 1)))
    objects: list[_Object] = []
    for _ in range(int(rng.integers(max(1, cfg.objects[0]), max(1, cfg.objects[1]) + 1))):
        obj = _new_object(rng, cfg)
        _place(rng, obj, [o.box for o in objects], cfg.width, cfg.height)
        speed, heading = rng.uniform(*SPEED[cfg.classes[obj.cls]]), rng.uniform(0, 2 * np.pi)
        obj.vx, obj.vy = speed * np.cos(heading), speed * np.sin(heading)
        objects.append(obj)
    for _ in range(frames):
        yield _scene(base, objects, rng, cfg)
        for obj in objects:
            _move(rng, obj, cfg.width, cfg.height)


def _move(rng: np.random.Generator, obj: _Object, w: int, h: int) -> None:
    oh, ow = obj.alpha.shape
    obj.vx, obj.vy = obj.vx + rng.normal(0, 0.1), obj.vy + rng.normal(0, 0.1)
    obj.x, obj.y = obj.x + obj.vx, obj.y + obj.vy
    if not 0 <= obj.x <= w - ow:
        obj.vx = -obj.vx
        obj.x = float(np.clip(obj.x, 0, w - ow))
    if not 0 <= obj.y <= h - oh:
        obj.vy = -obj.vy
        obj.y = float(np.clip(obj.y, 0, h - oh))


# --- writers ---------------------------------------------------------------------------------

def write_dataset(out: str | Path, cfg: SynthConfig, images: int, seed: int = 0,
                  val_fraction: float = 0.2, fmt: str = "yolo") -> Path:
    """Write ``images`` scenes as a YOLO dataset (``images/{train,val}``, ``labels/...``,
    ``data.yaml``, listing only non-empty splits; returns data.yaml) or COCO
    (``images/{train,val}``, ``{train,val}.json``; returns the train JSON). The last
    ``round(images * val_fraction)`` scenes are ``val``."""
    from .coco import to_coco

    out = Path(out)
    n_val = round(images * val_fraction)
    splits: dict[str, list[ImageRecord]] = {"train": [], "val": []}
    for i in range(images):
        split = "val" if i >= images - n_val else "train"
        scene = synth_image(cfg, [seed, i])
        path = out / "images" / split / f"{seed:04d}_{i:06d}.png"
        write_image(path, scene.image)
        if fmt == "yolo":
            write_labels(path, scene.boxes, scene.labels, cfg.width, cfg.height)
        splits[split].append(ImageRecord(path, cfg.width, cfg.height, scene.boxes, scene.labels))
    if fmt == "yolo":
        return write_data_yaml(out, cfg.classes, {s: f"images/{s}" for s, r in splits.items() if r})
    if fmt != "coco":
        raise ValueError(f"unknown format '{fmt}' (yolo, coco)")
    for split, records in splits.items():
        (out / f"{split}.json").write_text(json.dumps(to_coco(records, cfg.classes, out)))
    return out / "train.json"


def write_clip(out: str | Path, cfg: SynthConfig, frames: int, seed: int = 0, fps: float = 30.0,
               video: bool = True, clip: ClipConfig | None = None) -> Path:
    """Write a clip (``clip.mp4``, or ``frames/NNNNNN.png`` when ``video=False``), ground truth
    ``gt.jsonl`` (one line per frame: frame, boxes xyxy, labels, track_ids) and ``meta.json``
    (names, size, fps, source, and ``clip``'s settings when given). Returns the gt path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = "clip.mp4" if video else "frames"
    writer = None
    if video:
        writer = cv2.VideoWriter(str(out / source), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                 (cfg.width, cfg.height))
        if not writer.isOpened():
            raise OSError(f"{out / source}: OpenCV cannot write mp4v video here")
    try:
        with (out / "gt.jsonl").open("w") as gt:
            for i, scene in enumerate(synth_clip(cfg, frames, seed, clip)):
                if writer is not None:
                    writer.write(cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
                else:
                    write_image(out / source / f"{i:06d}.png", scene.image)
                gt.write(json.dumps({"frame": i, "boxes": scene.boxes.tolist(),
                                     "labels": scene.labels.tolist(),
                                     "track_ids": scene.track_ids.tolist()}) + "\n")
    finally:
        if writer is not None:
            writer.release()
    meta = {"names": list(cfg.classes), "width": cfg.width, "height": cfg.height, "fps": fps,
            "frames": frames, "source": source, "seed": seed}
    if clip is not None:
        meta["clip"] = asdict(clip)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return out / "gt.jsonl"


def read_clip(folder: str | Path) -> tuple[dict, list[ImageRecord]]:
    """Read a clip written by :func:`write_clip` -> (meta, one record per frame). A record's
    ``path`` is the frame's PNG, or the video file (frame = list index) for mp4 clips."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    records = []
    for line in (folder / "gt.jsonl").read_text().splitlines():
        row = json.loads(line)
        path = folder / meta["source"]
        if meta["source"] == "frames":
            path = path / f"{row['frame']:06d}.png"
        records.append(ImageRecord(path, meta["width"], meta["height"], row["boxes"],
                                   row["labels"], track_ids=np.asarray(row["track_ids"])))
    return meta, records
