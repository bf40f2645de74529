"""Host subcommands of the ``specks`` CLI (registered through the ``specks.commands`` entry
point group). Registration imports nothing heavy; torch is imported when a command runs."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from firmware_py.cli import one_line_errors

from .limits import MAX_DETS, TOP_K
from .sizes import parse_wxh

log = logging.getLogger(__name__)

def _expected_errors() -> tuple[type[BaseException], ...]:
    """What bad input raises: one line and exit 2, never a traceback."""
    from .data.boxes import DatasetError

    return (DatasetError, FileNotFoundError, KeyError, ValueError)


def _models(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .registry import create_model, list_models, model_record
    from .summary import count_gflops, count_params

    table = Table(title="Specks registered networks")
    for col in ("model", "task", "input", "params", "GFLOPs"):
        table.add_column(col, justify="left" if col in ("model", "task") else "right")
    for name in list_models():
        record = model_record(name)
        size = (record.input_size[0], args.size[1], args.size[0]) if args.size \
            else record.input_size
        model = create_model(name)
        table.add_row(name, record.task, "x".join(map(str, size[1:])),
                      f"{count_params(model):,}", f"{count_gflops(model, size):.3f}")
    Console().print(table)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="table of registered nets: params and GFLOPs")
    p.add_argument("--size", type=parse_wxh, default=None,
                   help="input WxH for every net (default: each net's own input size)")
    p.set_defaults(func=one_line_errors(_models, _expected_errors))
    _add_train(subparsers)
    _add_eval(subparsers)
    _add_prune(subparsers)
    _add_zoo(subparsers)
    _add_detect(subparsers)


def _train_values(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Config fields from the recipe (if any) with the command line's over them, and the
    source to name in errors; logs which flags override the recipe, in one line."""
    from .train_config import TrainConfig, load_recipe

    known = set(TrainConfig.model_fields)
    flags = {k: v for k, v in vars(args).items() if k in known and v is not None}
    if not args.recipe:
        return flags, "command line"
    recipe, label = load_recipe(args.recipe)
    over = [f"{k}={v} (recipe: {recipe[k]})" for k, v in flags.items()
            if k in recipe and recipe[k] != v]
    added = [f"{k}={v}" for k, v in flags.items() if k not in recipe]
    log.info("recipe %s; the command line overrides %s; adds %s", label,
             ", ".join(over) or "nothing", ", ".join(added) or "nothing")
    return {**recipe, **flags}, f"recipe {label} with the command-line options"


def _train(args: argparse.Namespace) -> int:
    from .init_weights import ZOO, shipped_detectors
    from .train import train
    from .train_config import TrainConfig, make_config

    values, source = _train_values(args)
    if "init" not in values and not values.get("resume"):
        model = values.get("model", TrainConfig.model_fields["model"].default)
        values["init"] = ZOO if model in shipped_detectors() else None
        if values["init"] is None:
            log.info("no shipped weights for %s: training from scratch", model)
    train(make_config(values, source))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .checkpoint import model_from_checkpoint
    from .data.yolo import read_yolo
    from .validate import count_tiles, evaluate_detector

    model, _ = model_from_checkpoint(args.checkpoint)
    data = read_yolo(args.data, args.split)
    log.info("evaluating %d images (%d tiles of %d px)", len(data.records),
             count_tiles(data.records, args.tile_size, args.overlap), args.tile_size)
    result = evaluate_detector(model, data.records, data.names, tile_size=args.tile_size,
                               overlap=args.overlap, full_frame=args.full_frame,
                               out_dir=args.out, top_k=args.top_k, max_dets=args.max_dets)
    from rich.console import Console

    console = Console()
    console.print(result.table())
    if result.operating_point is not None:
        console.print(f"operating point {result.operating_point.line()}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    from .prune import prune_checkpoint

    prune_checkpoint(args.checkpoint, args.out, threshold=args.threshold,
                     data=args.data, finetune_epochs=args.finetune_epochs,
                     max_minutes=args.max_minutes)
    return 0


def _add_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train a detector on a YOLO dataset (fine-tunes "
                              "the shipped weights by default)")
    p.add_argument("--data", required=True, help="data.yaml of a YOLO-layout dataset")
    p.add_argument("--model", help="registered net (default specknet-nano)")
    p.add_argument("--recipe", help="JSON recipe: a zoo recipe (its 'train' section) or "
                   "TrainConfig fields; flags override it")
    p.add_argument("--out", help="run directory (checkpoints, log.jsonl)")
    for name, kind in (("epochs", int), ("steps_per_epoch", int), ("batch_size", int),
                       ("tile_size", int), ("eval_tile_size", int), ("lr", float),
                       ("weight_decay", float),
                       ("seed", int), ("workers", int), ("dwd_lambda", float),
                       ("warmup_steps", int), ("ema_decay", float), ("threads", int),
                       ("distill_weight", float), ("eval_every", int), ("max_minutes", float)):
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind)
    p.add_argument("--best-metric", dest="best_metric",
                   choices=("mAP50_95", "mAP50", "AP_small"),
                   help="validation metric that picks best.pt (default mAP50_95)")
    p.add_argument("--teacher", help="checkpoint of a larger Specks model to distil from")
    p.add_argument("--init", help="weights that start the run: 'zoo' (the shipped weights; "
                   "the default for nets the zoo ships, e.g. specknet-nano), 'none' (from "
                   "scratch) or a checkpoint; a class head that does not fit the data's "
                   "classes is re-initialised")
    p.add_argument("--resume", action="store_true", default=None,
                   help="continue from OUT/last.pt")
    p.set_defaults(func=one_line_errors(_train, _expected_errors))


def _add_eval(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="COCO mAP / AP_small of a checkpoint on full images")
    p.add_argument("checkpoint")
    p.add_argument("--data", required=True, help="data.yaml of a YOLO-layout dataset")
    p.add_argument("--split", default="val")
    p.add_argument("--tile-size", type=int, default=320)
    p.add_argument("--full-frame", action="store_true",
                   help="downscale each image to one tile (the naive baseline)")
    p.add_argument("--out", default=None, help="directory for the PR curve PNG and JSON")
    _add_slicing(p)
    p.set_defaults(func=one_line_errors(_eval, _expected_errors))


def _count(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"{text}: expected an integer in 1..10000")
    return value


def _overlap(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text}: expected a fraction of the tile side, "
                                         "0 <= overlap < 1")
    return value


def _add_slicing(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overlap", type=_overlap, default=0.2,
                   help="tile overlap, a fraction of the tile side (default 0.2)")
    p.add_argument("--top-k", dest="top_k", type=_count, default=TOP_K,
                   help=f"peaks kept per tile (default {TOP_K})")
    p.add_argument("--max-dets", dest="max_dets", type=_count, default=MAX_DETS,
                   help=f"detections kept per image, and COCO's maxDets (default {MAX_DETS})")


def _add_prune(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("prune", help="drop collapsed channels, rebuild, fine-tune")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="run directory of the pruned net")
    p.add_argument("--threshold", type=float, default=1e-2, help="|BN gamma| below this drops")
    p.add_argument("--data", help="data.yaml for fine-tuning and before/after mAP")
    p.add_argument("--finetune-epochs", type=int, default=0)
    p.add_argument("--max-minutes", type=float, default=None,
                   help="time budget of the fine-tuning, its validation included (default: "
                   "the checkpoint's recipe's)")
    p.set_defaults(func=one_line_errors(_prune, _expected_errors))


def _zoo_build(args: argparse.Namespace) -> int:
    from .zoo.build import build

    build(args.recipe, args.workdir, run=args.run)
    return 0


def _add_zoo(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("zoo", help="the shipped models")
    zoo = p.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    b = zoo.add_parser("build", help="re-train a shipped model from its recipe, write its card")
    b.add_argument("recipe", nargs="?", default="models/zoo/specknet-nano.recipe.json")
    b.add_argument("--workdir", default="runs/zoo", help="data and run directory")
    b.add_argument("--run", help="ship the best.pt of this finished `specks train --recipe` "
                   "run instead of training (its recorded config and labels must be the "
                   "recipe's)")
    b.set_defaults(func=one_line_errors(_zoo_build, _expected_errors))


def _detect(args: argparse.Namespace) -> int:
    from .detect import detect

    detect(args.checkpoint, args.images, args.out, args.score_threshold, args.tile_size,
           overlap=args.overlap, top_k=args.top_k, max_dets=args.max_dets,
           json_path=args.json)
    return 0


def _add_detect(subparsers: argparse._SubParsersAction) -> None:
    from .zoo import default_checkpoint

    p = subparsers.add_parser("detect", help="detect small objects on full images (sliced)")
    p.add_argument("images", nargs="*", help="image files (default: the built-in sample scene)")
    p.add_argument("--checkpoint", default=str(default_checkpoint()),
                   help="default: the shipped specknet-nano")
    p.add_argument("--score-threshold", type=float, default=None,
                   help="default: the checkpoint's operating point (best F1 on its val "
                   "split, recorded by specks train), else 0.3")
    p.add_argument("--tile-size", type=int, default=320)
    p.add_argument("--out", default="runs/detect", help="directory for annotated PNGs")
    p.add_argument("--json", default=None,
                   help="write the detections to this file as COCO results (bbox xywh pixels, "
                   "image_id = position of the image, with its file_name)")
    _add_slicing(p)
    p.set_defaults(func=one_line_errors(_detect, _expected_errors))
