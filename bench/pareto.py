"""Pareto front of detector designs (issue 15, item 4): held-out AP_small and mAP50-95 after
the same short training recipe, against int8 latency in LiteRT and ExecuTorch, every artifact
timed side by side in one run; YOLO11n and YOLO26n are points when ``bench/peers.py`` has run.

Per design (``DESIGNS``: today's nano, its variants, the seed techniques the registry
reaches, pico and small):
1. train from scratch with the nano recipe's ``train`` section
   (``models/zoo/specknet-nano.recipe.json``), ``--minutes`` as its wall-clock budget (the
   schedule anneals within it, ``models.train``) or ``--steps`` fixed (the same for every
   design under any load), the design's overrides on top;
2. (CSNet designs) prune physically at ``|gamma| < threshold`` (``models.prune``; arXiv
   2003.05643 Sec. 3.3), without fine-tuning;
3. score on the held-out split (``models.validate.evaluate_detector``: 320 tiles, 0.2
   overlap, the COCO evaluator): mAP50, mAP50-95, AP_small, AP at IoU 0.3 under 8 px;
4. export int8 ``.tflite`` (through the int8 gate, ``export.int8_spec``) and ``.pte``
   (XNNPACK, every op delegated), calibrated on train tiles; RepVGG branches are folded
   there (``export.prepare``).
Then every artifact (and the peers' int8 ``.tflite`` and ``.pte`` named in ``--peers-json``,
if they still exist) is timed on the same real held-out tile in this process, interleaved
(``bench/export.py``'s ``time_interleaved``), with ``--threads`` threads; the CPU model is
printed with the table. Writes a JSON and a PNG: {AP_small, mAP50-95} x {LiteRT, ExecuTorch}
int8 latency, the front (no design both faster and more accurate) marked.

Choices where the issue is silent:
- The peers' accuracy is their own run's (``bench/peers.py``: Ultralytics' trainer on the same
  train split for its ``--minutes``, whole 640 images); the JSON says so beside each point.
  Their latency is measured here when their files exist, else taken from that JSON and marked
  ``timed_here: false`` (not comparable to this run's timings).
- Training is in this process, one design after the other, so designs never share the CPU.

    .venv/bin/python bench/pareto.py [--minutes 10 | --steps 1000] [--val-images 12]
        [--designs nano,nano-s8] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pareto_plot import plot  # noqa: E402

log = logging.getLogger("pareto")
RECIPE = ROOT / "models" / "zoo" / "specknet-nano.recipe.json"
TILE = 320
FORMATS = ("tflite", "pte")
METRICS = ("AP_small", "mAP50-95")
PEERS = ("yolo11n", "yolo26n")


@dataclass(frozen=True)
class Design:
    name: str
    model: str
    technique: str
    model_config: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)  # TrainConfig fields over the recipe's
    prune: float | None = None  # |gamma| threshold of a physical prune after training


def _nano_stages(attn: str | None) -> list[dict]:
    """nano's stages as JSON-ready dicts, the attention of its attentive stages swapped."""
    from models.registry import create_model

    stages = create_model("specknet-nano").cfg.stages
    return [asdict(replace(s, attn=attn if s.attn else None)) for s in stages]


DESIGNS = (
    Design("nano", "specknet-nano", "today's shipped design (MobileNetV2 + TiedSE, stride 4)"),
    Design("nano-fused", "specknet-nano-fused", "Fused-MBConv stride-4 stage (EfficientNetV2)"),
    Design("nano-s2d", "specknet-nano-s2d", "space-to-depth stem"),
    Design("nano-rep", "specknet-nano-rep", "RepVGG branches, folded at export"),
    Design("nano-s8", "specknet-nano-s8", "stride-8 head"),
    Design("nano-se", "specknet-nano", "plain SE in place of the seed's TiedSE (TFC)",
           {"stages": _nano_stages("se")}),
    Design("nano-noattn", "specknet-nano", "no attention (does TiedSE pay at all)",
           {"stages": _nano_stages(None)}),
    Design("nano-oct", "specknet-nano-oct",
           "gOctConv stages: half the hidden width at half resolution, strides 4-8 (CSNet)"),
    Design("nano-tbc", "specknet-nano-tbc",
           "TBC (B=2) expand and neck pointwise 1x1s (Tied Block Convolution)"),
    Design("nano-tgc", "specknet-nano-tgc",
           "TGC (B=2, G=2) expand and neck pointwise 1x1s (Tied Group Convolution)"),
    Design("nano-fcb", "specknet-nano-fcb", "LRNNet FCB context at stride 16"),
    Design("nano-fcb-svn", "specknet-nano-fcb-svn",
           "LRNNet FCB + SVN reduced non-local context at stride 16"),
    Design("nano-dwd-pruned", "specknet-nano", "CSNet dynamic weight decay + physical prune",
           train={"dwd_lambda": 3.0}, prune=1e-2),
    Design("pico", "specknet-pico", "smaller preset"),
    Design("small", "specknet-small", "larger preset"),
)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points (latency, accuracy) that no other point dominates (as fast or
    faster and as accurate or more, one of them strictly), in ascending latency."""
    front = []
    for i, (lat, acc) in enumerate(points):
        dominated = any((lo <= lat and ao >= acc) and (lo < lat or ao > acc)
                        for j, (lo, ao) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def train_design(design: Design, args: argparse.Namespace, data: Path, out: Path) -> Path:
    from models.train import train
    from models.train_config import make_config

    recipe = json.loads(RECIPE.read_text())["train"]
    values = {**recipe, "data": str(data), "model": design.model, "out": str(out),
              "model_config": {**recipe.get("model_config", {}), **design.model_config},
              "max_minutes": None if args.steps else args.minutes, "threads": args.threads,
              "init": None,
              **steps_budget(args.steps, recipe), **design.train,
              **({} if args.seed is None else {"seed": args.seed})}
    return train(make_config(values, f"design {design.name}"))


def steps_budget(steps: int | None, recipe: dict) -> dict:
    """TrainConfig fields that fix the run at ``steps`` optimiser steps (the same for every
    design whatever the machine's load), warm-up at the recipe's share of its own steps."""
    if steps is None:
        return {}
    per_epoch = recipe["steps_per_epoch"]
    share = recipe["warmup_steps"] / (recipe["epochs"] * per_epoch)
    epochs = max(1, round(steps / per_epoch))
    return {"epochs": epochs, "warmup_steps": round(share * epochs * per_epoch)}


def trained_model(design: Design, ckpt: Path) -> tuple[torch.nn.Module, dict]:
    """The checkpoint's net (pruned if the design says so), the steps it trained and what
    pruning did."""
    from models.checkpoint import load_checkpoint, model_from_checkpoint
    from models.prune import channel_masks, prune_network

    model, meta = model_from_checkpoint(ckpt)
    trained = {"steps": load_checkpoint(ckpt.with_name("last.pt"))["meta"]["step"],
               "best_step": meta["meta"]["step"]}
    if design.prune is None:
        return model.eval(), trained
    pruned, _, report = prune_network(model, meta["model"], meta["config"],
                                      channel_masks(model, design.prune))
    return pruned.eval(), {**trained, "hidden_kept": round(report.kept_fraction, 3)}


def export_design(model: torch.nn.Module, out: Path, calibration: list, gate: list
                  ) -> dict[str, str]:
    """int8 .tflite and .pte files of ``model``; a failed export is named, not raised."""
    from export.executorch import export_pte
    from export.tflite import export_tflite

    files: dict[str, str] = {}
    example = (calibration[0],)
    for fmt in FORMATS:
        path = out / f"model_int8.{fmt}"
        try:
            if fmt == "tflite":
                data = export_tflite(model, example, precision="int8", calibration=calibration,
                                     gate_inputs=gate).buffer
            else:
                data = export_pte(model, example, precision="int8",
                                  calibration=calibration).buffer
        except Exception as error:  # noqa: BLE001 -- the row names the failure
            log.error("%s: %s export failed: %s", out.name, fmt, error)
            files[f"{fmt}_error"] = f"{type(error).__name__}: {error}"
            continue
        path.write_bytes(data)
        files[fmt] = str(path)
    return files


def run_design(design: Design, args: argparse.Namespace, data: Path, heldout,
               calibration: list, gate: list) -> dict:
    """Train, score and export one design (cached in ``--work``/name/row.json; a cached row
    that lacks a score this version measures is scored again from its checkpoint)."""
    from export.prepare import for_export
    from models.summary import count_gflops, count_params

    out = args.work / design.name
    cached = out / "row.json"
    if args.reuse and cached.is_file():
        row = json.loads(cached.read_text())
        if "AP30_tiny" not in row:
            row.update(score(trained_model(design, out / "best.pt")[0], heldout))
            cached.write_text(json.dumps(row, indent=1))
        return row
    log.info("%s: training %s (%s)", design.name, budget(args), design.technique)
    ckpt = train_design(design, args, data, out)
    model, pruned = trained_model(design, ckpt)
    deployed = for_export(model)  # params and GFLOPs as deployed (RepVGG branches folded)
    row = {"design": design.name, "model": design.model, "technique": design.technique,
           "params": count_params(deployed),
           "gflops": round(count_gflops(deployed, (3, TILE, TILE)), 3),
           **score(model, heldout), **pruned,
           "files": export_design(model, out, calibration, gate)}
    cached.write_text(json.dumps(row, indent=1))
    return row


def score(model: torch.nn.Module, heldout) -> dict[str, float]:
    """Held-out COCO scores of ``model`` (sliced 320 tiles)."""
    from models.validate import evaluate_detector

    m = evaluate_detector(model, heldout.records, heldout.names, tile_size=TILE,
                          progress=False)
    return {"mAP50": m.map50, "mAP50-95": m.map50_95, "AP_small": m.ap_small,
            "AP30_tiny": m.ap30_tiny}


def peer_rows(path: Path) -> list[dict]:
    """YOLO points from ``bench/peers.py``'s JSON: accuracy, artifact files, its latency."""
    if not path.is_file():
        log.warning("no %s: YOLO11n/YOLO26n are not on the plot (run bench/peers.py)", path)
        return []
    result = json.loads(path.read_text())
    lat = result.get("latency", {})
    files = lat.get("artifacts", {})
    rows = []
    for peer in PEERS:
        acc = result.get("accuracy", {}).get(peer)
        if acc is None:
            continue
        row = {"design": peer, "model": peer, "technique": "peer (Ultralytics, "
               f"{result['config']['minutes']:g} min of its own trainer, whole images)",
               "params": acc.get("params"), **{k: acc.get(k) for k in ("mAP50", *METRICS)},
               "files": {}, "other_run_ms": {}}
        for fmt in FORMATS:
            file = files.get(f"{peer}/{fmt}_int8")
            if file and Path(file).is_file():
                row["files"][fmt] = file
            for r in lat.get("rows", []):
                if r["artifact"] == f"{fmt}_int8" and r.get(f"{peer}_ms") is not None:
                    row["other_run_ms"][fmt] = r[f"{peer}_ms"]
        rows.append(row)
    return rows


def time_all(rows: list[dict], tile: np.ndarray, threads: int, rounds: int) -> None:
    """Median int8 ms of every artifact, all interleaved in one run, into ``row['ms']``."""
    from bench.export import time_interleaved
    from bench.peers import native_input
    from firmware_py.runtimes.executorch import ExecuTorchRunner
    from firmware_py.runtimes.litert import LiteRTRunner

    torch.set_num_threads(threads)
    timers = {}
    for row in rows:
        for fmt, path in row["files"].items():
            if fmt not in FORMATS:
                continue
            runner = (ExecuTorchRunner(path, num_threads=threads) if fmt == "pte"
                      else LiteRTRunner(path, num_threads=threads))
            native = [native_input(tile, runner.inputs[0])]
            timers[f"{row['design']}/{fmt}"] = lambda r=runner, n=native: r.run(n)
    ms = time_interleaved(timers, rounds)
    for row in rows:
        row["ms"] = {fmt: round(ms[f"{row['design']}/{fmt}"], 3) for fmt in FORMATS
                     if f"{row['design']}/{fmt}" in ms}
        row["timed_here"] = {fmt: fmt in row["ms"] for fmt in FORMATS}
        for fmt, value in row.pop("other_run_ms", {}).items():
            row["ms"].setdefault(fmt, value)


def mark_fronts(rows: list[dict]) -> None:
    """``row['front'][f'{metric}/{fmt}']``: on that panel's front (rows timed here only)."""
    for row in rows:
        row["front"] = {}
    for metric in METRICS:
        for fmt in FORMATS:
            panel = [r for r in rows if r["timed_here"].get(fmt) and r.get(metric) is not None]
            front = pareto_front([(r["ms"][fmt], r[metric]) for r in panel])
            for i, r in enumerate(panel):
                r["front"][f"{metric}/{fmt}"] = i in front


def markdown(rows: list[dict], header: str) -> str:
    lines = [header, "", "| design | params | GFLOPs | mAP50 | mAP50-95 | AP_small | "
             "AP30 < 8 px | LiteRT int8 ms | ExecuTorch int8 ms | "
             "front (AP_small / mAP50-95, LiteRT) |", "|---|---|---|---|---|---|---|---|---|---|"]

    def f(value: object, digits: int = 3) -> str:
        return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float)
                                          else str(value))

    for r in sorted(rows, key=lambda r: r["ms"].get("tflite", float("inf"))):
        ms = {fmt: f(r["ms"].get(fmt), 2) + ("" if r["timed_here"].get(fmt, True)
                                              or fmt not in r["ms"] else " (other run)")
              for fmt in FORMATS}
        front = " / ".join("yes" if r["front"].get(f"{m}/tflite") else "no" for m in METRICS)
        lines.append(f"| {r['design']} | {f(r.get('params'))} | {f(r.get('gflops'))} | "
                     f"{f(r.get('mAP50'))} | {f(r.get('mAP50-95'))} | {f(r.get('AP_small'))} | "
                     f"{f(r.get('AP30_tiny'))} | {ms['tflite']} | {ms['pte']} | {front} |")
    return "\n".join(lines) + "\n"


def make_data(args: argparse.Namespace) -> tuple[Path, Path]:
    """The recipe's train split and held-out split (``--train-images`` / ``--heldout-images``
    may shrink them), written once. ``--val-images`` keeps the train scenes and sets the size
    of the val split, which training validates on only at its end here (the rows are scored
    on the held-out split)."""
    from models.data.synth import SynthConfig, write_dataset

    recipe = json.loads(RECIPE.read_text())
    out = []
    for key, images, val in (("data", args.train_images, recipe["data"]["val_fraction"]),
                             ("heldout", args.heldout_images, 1.0)):
        cfg, name = recipe[key], key
        images = images or cfg["images"]
        if key == "data" and args.val_images is not None:
            n_train = images - round(images * val)
            images, name = n_train + args.val_images, f"{key}-val{args.val_images}"
            val = args.val_images / images
        folder = args.work / "data" / name
        if not (folder / "data.yaml").is_file():
            write_dataset(folder, SynthConfig(width=cfg["width"], height=cfg["height"]),
                          images=images, seed=cfg["seed"], val_fraction=val)
        out.append(folder / "data.yaml")
    return out[0], out[1]


def budget(args: argparse.Namespace) -> str:
    if args.steps is None:
        return f"{args.minutes:g} min"
    return f"{args.steps} steps"


def parse() -> argparse.Namespace:
    names = [d.name for d in DESIGNS]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--designs", type=lambda s: s.split(","), default=names,
                   help=f"comma-separated, of {', '.join(names)}")
    p.add_argument("--minutes", type=float, default=10.0, help="training budget per design")
    p.add_argument("--steps", type=int, default=None, help="fixed optimiser steps per design "
                   "(rounded to the recipe's epochs), in place of --minutes")
    p.add_argument("--seed", type=int, default=None, help="training seed (default: the "
                   "recipe's); another seed in another --work shows the spread of a score")
    p.add_argument("--threads", type=int, default=2, help="training, export and runtimes")
    p.add_argument("--rounds", type=int, default=100, help="interleaved latency rounds")
    p.add_argument("--train-images", type=int, default=None, help="default: the recipe's")
    p.add_argument("--heldout-images", type=int, default=None, help="default: the recipe's")
    p.add_argument("--val-images", type=int, default=None,
                   help="size of training's own val split (default: the recipe's)")
    p.add_argument("--num-calib", type=int, default=64, help="int8 calibration tiles")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "bench" / "pareto")
    p.add_argument("--peers-json", type=Path, default=ROOT / "runs" / "bench" / "peers.json")
    p.add_argument("--reuse", action="store_true", help="keep designs already trained, scored "
                   "and exported in --work (timings are always measured anew)")
    p.add_argument("--json", type=Path, default=ROOT / "runs" / "bench" / "pareto.json")
    p.add_argument("--png", type=Path, default=ROOT / "runs" / "bench" / "pareto.png")
    args = p.parse_args()
    args.work = args.work.resolve()  # rows record artifact paths; --reuse may run elsewhere
    unknown = sorted(set(args.designs) - set(names))
    if unknown:
        p.error(f"--designs: unknown {', '.join(unknown)}; known: {', '.join(names)}")
    return args


def main() -> None:
    from bench.peers import machine
    from export.calibration import image_paths, image_tiles
    from firmware_py.manifest import InputSpec
    from models.data.yolo import read_yolo

    args = parse()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    train_yaml, heldout_yaml = make_data(args)
    heldout = read_yolo(heldout_yaml, "val")
    spec = InputSpec(shape=(1, 3, TILE, TILE))
    calibration = image_tiles(image_paths(train_yaml, "train"), args.num_calib, spec, seed=0)
    gate = image_tiles([r.path for r in heldout.records], 4, spec, seed=1, desc="gate tiles")
    rows = [run_design(d, args, train_yaml, heldout, calibration, gate)
            for d in DESIGNS if d.name in args.designs]
    rows += peer_rows(args.peers_json)
    time_all(rows, gate[0].numpy(), args.threads, args.rounds)
    mark_fronts(rows)
    header = (f"`bench/pareto.py` on {machine()}: {budget(args)} of training per design, "
              f"held-out {len(heldout.records)} images; int8 latency at 1x3x{TILE}x{TILE}, "
              f"{args.threads} threads, median of {args.rounds} interleaved rounds")
    table = markdown(rows, header)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"header": header, "minutes": args.minutes,
                                     "steps": args.steps, "seed": args.seed,
                                     "threads": args.threads, "rows": rows}, indent=1,
                                    default=float))
    plot(rows, args.png, title=header.split(":")[0] + f", {budget(args)}/design")
    print(table)
    print(f"wrote {args.json} and {args.png}")


if __name__ == "__main__":
    main()
