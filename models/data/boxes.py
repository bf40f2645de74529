"""Annotation records, image I/O and dataset validation errors shared by every reader.

Conventions inside Specks (choices of ours; no paper governs them):

- Boxes are float32 ``xyxy`` in pixels of the full image, ``x1 > x0`` and ``y1 > y0``, with the
  pixel-edge convention: a box covering columns 3..5 inclusive is ``x0=3, x1=6``.
- Class ids are contiguous ``0 .. len(names)-1`` (int64).
- Images are ``uint8`` ``(H, W, 3)`` in **RGB** order. OpenCV decodes BGR; :func:`read_image`
  converts once, :func:`write_image` converts back, and nothing else in Specks should call
  ``cv2.imread``/``cv2.imwrite`` on its own.
- Bad data raises :class:`DatasetError` naming ``file:line`` (strict mode). Lenient mode drops
  the bad item and records it in a :class:`DropReport`; nothing is ever skipped silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".bmp", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp")


class DatasetError(ValueError):
    """Bad data, located: ``str(error)`` reads ``file:line: reason``.

    ``line`` is a 1-based text line for label files, or a JSON location such as
    ``annotations[3]`` for COCO files; ``None`` when the whole file is at fault. A newline
    or control character (in a path or a value quoted from the file) is shown escaped, so the
    message stays one line.
    """

    def __init__(self, file: str | Path, line: int | str | None, reason: str) -> None:
        self.file, self.line, self.reason = str(file), line, reason
        where = self.file if line is None else f"{self.file}:{line}"
        message = f"{where}: {reason}"
        super().__init__(message if message.isprintable()
                         else message.encode("unicode_escape").decode("ascii"))


@dataclass
class DropReport:
    """What lenient mode dropped, one :class:`DatasetError` per dropped item."""

    drops: list[DatasetError] = field(default_factory=list)

    def add(self, error: DatasetError) -> None:
        log.debug("dropped %s", error)
        self.drops.append(error)

    def __len__(self) -> int:
        return len(self.drops)

    def __bool__(self) -> bool:
        return bool(self.drops)

    def log_summary(self, source: str | Path) -> None:
        """One warning per reader call, so lenient drops are never silent."""
        if self.drops:
            log.warning("%s: dropped %d bad item(s) in lenient mode, first: %s", source,
                        len(self.drops), self.drops[0])

    def summary(self) -> str:
        return "\n".join(str(d) for d in self.drops) or "nothing dropped"


class Validator:
    """Strict mode raises the first error; lenient mode records it and lets the caller drop
    the item."""

    def __init__(self, strict: bool = True, report: DropReport | None = None) -> None:
        self.strict = strict
        self.report = report if report is not None else DropReport()

    def fail(self, error: DatasetError) -> None:
        if self.strict:
            raise error
        self.report.add(error)


@dataclass
class ImageRecord:
    """One image and its boxes. ``scores`` is set for detections, ``None`` for ground truth;
    ``track_ids`` only for clips."""

    path: Path
    width: int
    height: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # (K, 4)
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))  # (K,)
    scores: np.ndarray | None = None  # (K,)
    track_ids: np.ndarray | None = None  # (K,)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.labels = np.asarray(self.labels, np.int64).reshape(-1)
        if len(self.boxes) != len(self.labels):
            raise ValueError(f"{self.path}: {len(self.boxes)} boxes but {len(self.labels)} labels")


@dataclass
class DetectionSet:
    """Records of one split plus the class names and what lenient mode dropped."""

    records: list[ImageRecord]
    names: list[str]
    report: DropReport = field(default_factory=DropReport)

    def __len__(self) -> int:
        return len(self.records)

    def counts(self) -> dict[str, int]:
        """Boxes per class name, plus ``images`` and ``background`` (images without boxes)."""
        out = {"images": len(self.records),
               "background": sum(len(r.labels) == 0 for r in self.records)}
        labels = np.concatenate([r.labels for r in self.records]) if self.records else []
        hist = np.bincount(np.asarray(labels, np.int64), minlength=len(self.names))
        out.update({name: int(n) for name, n in zip(self.names, hist, strict=False)})
        return out


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to ``uint8 (H, W, 3)`` RGB; :class:`DatasetError` if missing or
    unreadable. Grey and alpha images are converted to 3 channels."""
    path = Path(path)
    try:
        if not path.is_file():
            raise DatasetError(path, None, "image file not found")
        # NOTE: np.fromfile + imdecode rather than imread: imread returns None without a
        # reason and mishandles non-ASCII paths on some platforms.
        data = np.fromfile(str(path), np.uint8)
    except OSError as error:  # a name too long, a folder we may not read
        raise DatasetError(path, None, f"cannot read the image ({error.strerror})") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DatasetError(path, None, "image is corrupt or not a supported format")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)  # (H, W, 3) RGB


def write_image(path: str | Path, image: np.ndarray, quality: int = 95) -> None:
    """Encode an RGB ``uint8`` image; the format follows the suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(path.suffix, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise OSError(f"{path}: could not encode image")
    buf.tofile(str(path))


def read_text(file: Path) -> str:
    """A text file of the dataset; bytes that are not UTF-8 are a :class:`DatasetError`."""
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = file.read_bytes()[:error.start].count(b"\n") + 1
        raise DatasetError(file, line, f"not UTF-8 text ({error.reason} at byte "
                           f"{error.start})") from None
