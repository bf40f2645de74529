"""``specks data``: make synthetic datasets and clips, and validate datasets. Registered through
the ``specks.commands`` entry point; importing this module imports neither torch nor cv2."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_py.cli import one_line_errors

from ..sizes import parse_wxh

if TYPE_CHECKING:
    from rich.console import Console

    from .boxes import DetectionSet

log = logging.getLogger(__name__)


def _expected_errors() -> tuple[type[BaseException], ...]:
    from .boxes import DatasetError

    return (DatasetError, FileNotFoundError, ValueError)


def _synth(args: argparse.Namespace) -> int:
    from .synth import SynthConfig, write_clip, write_dataset

    width, height = args.size
    cfg = SynthConfig(width=width, height=height, min_size=args.min_size, max_size=args.max_size,
                      photos=args.photos)
    if args.frames:
        path = write_clip(args.out, cfg, args.frames, args.seed, args.fps,
                          video=not args.image_folder)
    else:
        path = write_dataset(args.out, cfg, args.images, args.seed, args.val_fraction, args.format)
    log.info("wrote %s", path)
    return 0


def _check(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .boxes import DatasetError
    from .coco import read_coco
    from .yolo import read_data_yaml, read_yolo

    data = Path(args.data)
    try:
        if data.suffix == ".json":
            sets = {data.stem: read_coco(data, args.images, strict=False)}
        else:
            _, splits, _ = read_data_yaml(data)
            sets = {s: read_yolo(data, s, strict=False) for s in splits}
    except DatasetError as error:  # the dataset description itself is unusable
        log.error("%s", error)
        return 1
    console = Console()
    _print_counts(console, sets)
    errors = [str(e) for ds in sets.values() for e in ds.report.drops]
    for error in errors:
        console.print(f"[red]error[/red] {error}", highlight=False)
    console.print(f"{len(errors)} error(s)" if errors else "dataset OK")
    return 1 if errors else 0


def _print_counts(console: Console, sets: dict[str, DetectionSet]) -> None:
    from rich.table import Table

    names = next(iter(sets.values())).names if sets else []
    table = Table(title="boxes per class")
    for col in ("split", "images", "background", *names):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, ds in sets.items():
        counts = ds.counts()
        table.add_row(split, *(str(counts[c]) for c in ("images", "background", *names)))
    console.print(table)


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="synthetic datasets and dataset checks")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = sub.add_parser("synth", help="write a synthetic small-object dataset (or a clip)")
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--images", type=int, default=100, help="number of still images")
    p.add_argument("--size", type=parse_wxh, default=(640, 640), help="image WxH")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("yolo", "coco"), default="yolo")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of images in val")
    p.add_argument("--min-size", type=int, default=4, help="smallest object, px (longer side)")
    p.add_argument("--max-size", type=int, default=40, help="largest object, px (longer side)")
    p.add_argument("--photos", type=float, default=0.0, help="share of images whose background "
                   "is a mosaic of real photographs (0-1; those without objects are real "
                   "negatives)")
    p.add_argument("--frames", type=int, default=0,
                   help="write a clip of N frames with moving objects instead of stills")
    p.add_argument("--fps", type=float, default=30.0, help="clip frame rate")
    p.add_argument("--image-folder", action="store_true",
                   help="clip as frames/NNNNNN.png instead of clip.mp4")
    p.set_defaults(func=one_line_errors(_synth, _expected_errors))

    p = sub.add_parser("check", help="validate a dataset; list every error with file:line")
    p.add_argument("data", type=Path, help="YOLO data.yaml (or its folder), or a COCO .json")
    p.add_argument("--images", type=Path, default=None,
                   help="image folder of a COCO json (default: the json's folder)")
    p.set_defaults(func=one_line_errors(_check, _expected_errors))
