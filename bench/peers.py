"""Specks against the peers users would pick instead, side by side, in one run: Ultralytics
YOLO11n and YOLO26n (each built from its yaml, exported by Ultralytics to LiteRT and
ExecuTorch) and SAHI's sliced inference (around YOLO11n). The peers run unmodified in their
own virtual environment (``.venv-peers``, ``bench/peers_yolo.py``); this script runs in
``.venv`` and passes everything by files.

1. Accuracy at equal training budget: the recipe's synthetic train split
   (``models/zoo/specknet-nano.recipe.json``: 500 images 640x640 seed 7, 20 % val) trains
   Specks nano (``specks train`` with the recipe, ``--max-minutes``) and each peer from
   ``yolo11n.yaml`` / ``yolo26n.yaml`` (Ultralytics' ``time`` budget, its default
   hyper-parameters, imgsz 640) for the same minutes on the same threads, one after the other.
   All are scored on the held-out split (100 images seed 1007) by the same evaluator
   (``models/evaluate.py``): Specks on 320 tiles with 0.2 overlap
   (``models.validate.evaluate_detector``, how it is deployed), the peers on the whole
   640x640 image (how it is used; no resize), both at score >= 0.01 with at most
   100 boxes per image.
2. Latency: the trained models, exported (Specks: ``specks export``, tflite/pte x
   fp32/int8; the peers: Ultralytics' exporters, LiteRT fp32/int8 and ExecuTorch fp32 -- it has
   no int8 ExecuTorch export) at the same 1x3x320x320 input, run in the same runtimes
   (ai-edge-litert, ExecuTorch) with the same threads, timed by ``bench/export.py``'s
   ``time_interleaved`` (all rows interleaved, order shuffled each round, medians) in one
   fresh process, on the same real tile. The artifacts' paths go into the JSON
   (``latency.artifacts``), so ``bench/pareto.py`` can time the peers beside its designs.
3. Tiled inference on 1920x1080 clips (``bench/pipeline.py``'s scenes, written here as
   lossless PNG frames so both environments decode the same pixels): SAHI
   ``get_sliced_prediction`` with its defaults (overlap 0.2, a full-image pass, GREEDYNMM on
   IOS 0.5, confidence 0.3) and 320 slices around the trained YOLO11n (PyTorch eager fp32, the
   runtime SAHI uses), against the Specks device pipeline in dense and sparse mode
   (``bench/pipeline.py``'s ``run_mode``: LiteRT int8, the x86-generic board, score 0.3).
   Recall and precision by ``bench/clips.py``'s ``match`` (IoU >= 0.5); frames/s over
   the whole loop, reading frames included, for all three.

Choices where the issue is silent: the heldout and clip seeds are the ones ``make bench``
and ``bench/pipeline.py`` use; the sparse mode uses the shipped prior bundle when it exists.
The training budget counts each trainer's own clock (data loading and augmentation inside it);
model building, dataset scanning and the final validation pass are outside it for both.

    .venv/bin/python bench/peers.py [--minutes 5] [--threads 2] [--frames 60] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.clips import SCENES, match, write_scene  # noqa: E402
from bench.pipeline import MODES  # noqa: E402

log = logging.getLogger("peers")
RECIPE = ROOT / "models" / "zoo" / "specknet-nano.recipe.json"
ZOO = ROOT / "models" / "zoo" / "bundles"
TILE = 320
ROWS = ("tflite_int8", "tflite_fp32", "pte_int8", "pte_fp32")
PEERS = ("yolo11n", "yolo26n")  # Ultralytics builds each from "<name>.yaml"
PEER_NAMES = {"yolo11n": "YOLO11n", "yolo26n": "YOLO26n"}
TILE_MODES = {"dense": "Specks dense tiles", "sparse": "Specks sparse tiles (motion, detections)",
              "sparse_prior": "Specks sparse tiles + saliency prior"}
SPARSE = ("sparse", "sparse_prior")
RUNTIME = {"tflite": "LiteRT", "pte": "ExecuTorch"}
README_BEGIN, README_END = "<!-- bench-peers:begin -->", "<!-- bench-peers:end -->"


# --- pure helpers (tested in tests/bench/test_peers.py) ----------------------------------------

def ground_truth(records: Sequence) -> list[dict]:
    """Evaluator ground-truth records of ``ImageRecord``s, ``image_id`` = position (as
    ``models.validate.evaluate_detector`` numbers them)."""
    return [{"image_id": i, "width": r.width, "height": r.height, "boxes": r.boxes,
             "labels": r.labels} for i, r in enumerate(records)]


def yolo_predictions(payload: Mapping, records: Sequence, names: Sequence[str]) -> list[dict]:
    """``peers_yolo.py predict`` output -> evaluator prediction records, one per record in
    ``records`` order. Images are matched by resolved path; class names must agree."""
    if list(payload["names"]) != list(names):
        raise ValueError(f"YOLO classes {payload['names']} differ from the data's {list(names)}")
    by_path = {str(Path(p["image"]).resolve()): p for p in payload["predictions"]}
    out = []
    for i, record in enumerate(records):
        found = by_path.pop(str(Path(record.path).resolve()), None)
        if found is None:
            raise ValueError(f"no YOLO prediction for {record.path}")
        out.append({"image_id": i,
                    "boxes": np.asarray(found["boxes"], np.float32).reshape(-1, 4),
                    "scores": np.asarray(found["scores"], np.float32).reshape(-1),
                    "labels": np.asarray(found["labels"], np.int64).reshape(-1)})
    if by_path:
        raise ValueError(f"YOLO predictions for images outside the split: {sorted(by_path)[:3]}")
    return out


def score_frames(truth: Sequence[Mapping], found: Sequence[Mapping], iou: float) -> dict:
    """Recall (all, and objects of 4-16 px), precision over frames, by ``bench.clips.match``
    (detections sorted by score here, as ``match`` needs). ``found[i]`` has ``frame``,
    ``boxes``, ``scores``; ``truth`` is the clip's ``gt.jsonl`` rows."""
    rows = {int(row["frame"]): row for row in truth}
    hits = small_hits = objects = small = dets = matched = 0
    for frame in found:
        gt = np.asarray(rows[int(frame["frame"])]["boxes"], np.float32).reshape(-1, 4)
        order = np.argsort(-np.asarray(frame["scores"], np.float32), kind="stable")
        boxes = np.asarray(frame["boxes"], np.float32).reshape(-1, 4)[order]
        hit, _ = match(gt, boxes, iou)
        m = int(hit.sum())
        side = np.maximum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1])
        tiny = (side >= 4) & (side <= 16)
        hits, objects, matched = hits + hit.sum(), objects + len(gt), matched + m
        small_hits, small = small_hits + hit[tiny].sum(), small + tiny.sum()
        dets += len(boxes)
    return {"recall": float(hits / max(objects, 1)),
            "recall_4_16px": float(small_hits / max(small, 1)),
            "precision": float(matched / max(dets, 1)), "objects": int(objects)}


def native_input(x: np.ndarray, spec: object) -> np.ndarray:
    """A float32 NCHW array in an artifact's input layout and dtype, by
    ``firmware_py.runtimes.to_artifact``. The layout is read from the shape: LiteRT models
    converted straight from PyTorch (as Ultralytics' are) take NCHW, while ``LiteRTRunner``
    presumes NHWC for every rank-4 tensor."""
    from firmware_py.runtimes import to_artifact

    nhwc = (x.shape[0], x.shape[2], x.shape[3], x.shape[1])
    if tuple(spec.shape) == tuple(x.shape):
        layout = "NCHW"
    elif tuple(spec.shape) == nhwc:
        layout = "NHWC"
    else:
        raise ValueError(f"input {spec.name} has shape {spec.shape}, not {x.shape} or {nhwc}")
    return to_artifact(x, spec.model_copy(update={"layout": layout}))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def splice(text: str, block: str) -> str:
    """Replace what lies between the README markers with ``block``; error if absent."""
    pattern = re.compile(re.escape(README_BEGIN) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise ValueError(f"no '{README_BEGIN}' ... '{README_END}' markers to replace")
    return pattern.sub(lambda _: f"{README_BEGIN}\n{block.strip()}\n{README_END}", text, count=1)


# --- steps -------------------------------------------------------------------------------------

def run(cmd: Sequence[str], args: argparse.Namespace, log_name: str) -> float:
    """Run one step in its own process (output to WORK/logs), return its wall seconds."""
    logs = args.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "YOLO_OFFLINE": "1",
           "YOLO_CONFIG_DIR": str(args.work / "yolo" / "ultralytics-config")}
    log.info("  $ %s", " ".join(str(c) for c in cmd))
    start = time.perf_counter()
    with open(logs / f"{log_name}.log", "w") as out:
        done = subprocess.run([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT,
                              env=env, cwd=ROOT, check=False)
    if done.returncode:
        raise RuntimeError(f"{log_name} failed ({done.returncode}); see {logs / log_name}.log")
    return time.perf_counter() - start


def peers(args: argparse.Namespace, command: str, out: Path, *options: object) -> dict:
    """One ``bench/peers_yolo.py`` subcommand in ``.venv-peers``; its JSON result. Timed
    commands (``sahi``) always run: timings are only compared within one run."""
    if not (args.reuse and out.is_file() and command != "sahi"):
        run([args.peers_python, ROOT / "bench" / "peers_yolo.py", "--work", args.work / "yolo",
             "--threads", args.threads, "--out", out, command, *options], args, f"yolo-{out.stem}")
    return json.loads(out.read_text())


def specks(args: argparse.Namespace, *options: object, log_name: str) -> float:
    return run([Path(sys.executable).parent / "specks", *options], args, log_name)


def make_data(args: argparse.Namespace) -> tuple[Path, Path]:
    """The recipe's train split and the held-out split, written once (deterministic)."""
    recipe = json.loads(RECIPE.read_text())
    splits = {"train": (recipe["data"], recipe["data"]["val_fraction"], args.train_images),
              "heldout": (recipe["heldout"], 1.0, args.heldout_images)}
    for name, (cfg, val_fraction, images) in splits.items():
        folder = args.work / "data" / name
        if not (folder / "data.yaml").is_file():
            specks(args, "data", "synth", folder, "--images", images or cfg["images"], "--size",
                   f"{cfg['width']}x{cfg['height']}", "--seed", cfg["seed"], "--val-fraction",
                   val_fraction, log_name=f"synth-{name}")
    return args.work / "data" / "train" / "data.yaml", args.work / "data" / "heldout" / "data.yaml"


def train_specks(args: argparse.Namespace, data: Path) -> dict:
    out = args.work / "specks"
    ckpt = out / "last.pt"
    recipe = out / "recipe.json"
    wall = None
    if not (args.reuse and ckpt.is_file()):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        recipe.write_text(json.dumps(json.loads(RECIPE.read_text())["train"], indent=1))
        wall = specks(args, "train", "--data", data, "--recipe", recipe, "--init", "none",
                      "--max-minutes", args.minutes, "--threads", args.threads, "--out", out,
                      log_name="specks-train")
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    epochs = [r for r in rows if "elapsed_s" in r]
    train = json.loads(recipe.read_text())
    return {"checkpoint": str(ckpt), "budget_min": args.minutes, "epochs": len(epochs),
            "steps": epochs[-1]["step"], "batch": train["batch_size"],
            "tile_size": train["tile_size"], "train_s": epochs[-1]["elapsed_s"],
            "wall_s": wall and round(wall, 1)}


def accuracy(args: argparse.Namespace, heldout: Path, specks_run: dict, yolo_runs: dict
             ) -> dict:
    """Every model on the held-out split, through ``models.evaluate.evaluate``."""
    from models.checkpoint import model_from_checkpoint
    from models.data.yolo import read_yolo
    from models.evaluate import evaluate
    from models.validate import evaluate_detector

    data = read_yolo(heldout, "val")
    images = args.work / "heldout-images.txt"
    images.write_text("\n".join(str(r.path) for r in data.records) + "\n")
    theirs = {}
    for peer, run in yolo_runs.items():
        payload = peers(args, "predict", args.work / f"{peer}-predictions.json", "--weights",
                        run["weights"], "--images", images, "--imgsz", run["imgsz"])
        found = yolo_predictions(payload, data.records, data.names)
        theirs[peer] = {**_metrics(evaluate(ground_truth(data.records), found, data.names)),
                        "params": run["params"], "input": f"whole image, imgsz {run['imgsz']}"}
    model, _ = model_from_checkpoint(specks_run["checkpoint"])
    ours = evaluate_detector(model, data.records, data.names, tile_size=TILE)
    params = sum(p.numel() for p in model.parameters())
    return {"specks": {**_metrics(ours), "params": params, "input": f"{TILE} tiles, 0.2 overlap"},
            **theirs, "images": len(data.records), "objects": ours.num_gt}


def _metrics(m: object) -> dict:
    d = m.to_dict()
    return {"mAP50": d["map50"], "mAP50-95": d["map50_95"], "AP_small": d["ap_small"],
            "AR_small": d["ar_small"]}


def export_specks(args: argparse.Namespace, ckpt: str, calib: Path) -> Path:
    """A signed bundle (tflite + pte, fp32 + int8) of the trained checkpoint, with a key of
    its own; ``WORK/trusted`` holds that key and the zoo's (the shipped prior is signed by it)."""
    keys, bundle, trusted = args.work / "keys", args.work / "specks-bundle", args.work / "trusted"
    if not (keys / "bench.key").is_file():
        specks(args, "keys", "generate", "--out", keys, "--name", "bench", log_name="keys")
    trusted.mkdir(exist_ok=True)
    for pub in [keys / "bench.pub", *sorted((ROOT / "board_configs" / "trusted_keys").glob(
            "*.pub"))]:
        shutil.copyfile(pub, trusted / pub.name)
    if not (args.reuse and (bundle / "manifest.json").is_file()):
        specks(args, "export", ckpt, "--formats", "tflite,pte", "--precision", "fp32,int8",
               "--calib", calib, "--allow-parity-failure", "--out", bundle, "--key",
               keys / "bench.key", "--overwrite", log_name="specks-export")
    return bundle


def latency(args: argparse.Namespace, bundle: Path, yolo_exports: dict, heldout: Path
            ) -> dict:
    """Every artifact of every model timed in one fresh process (``--worker latency``)."""
    from models.data.boxes import read_image
    from models.data.yolo import read_yolo

    manifest = json.loads((bundle / "manifest.json").read_text())
    artifacts = {f"specks/{a['format']}_{a['precision']}": str(bundle / a["file"])
                 for a in manifest["artifacts"]}
    artifacts |= {f"{peer}/{row}": a["path"] for peer, export in yolo_exports.items()
                  for row, a in export["artifacts"].items() if "path" in a}
    image = read_image(read_yolo(heldout, "val").records[0].path)
    tile = image[:TILE, :TILE].transpose(2, 0, 1)[None].astype(np.float32) / 255  # (1, 3, H, W)
    np.save(args.work / "tile.npy", tile)
    spec = args.work / "latency-artifacts.json"
    spec.write_text(json.dumps(artifacts, indent=1))
    out = args.work / "latency.json"
    run([sys.executable, __file__, "--worker", "latency", "--artifacts", spec, "--tile",
         args.work / "tile.npy", "--threads", args.threads, "--rounds", args.rounds, "--out",
         out, "--work", args.work], args, "latency")
    ms = json.loads(out.read_text())
    sizes = {k: round(Path(p).stat().st_size / 1024, 1) for k, p in artifacts.items()}
    errors = {f"{peer}/{row}": a["error"] for peer, export in yolo_exports.items()
              for row, a in export["artifacts"].items() if "error" in a}
    return {"input": [1, 3, TILE, TILE], "threads": args.threads, "rounds": args.rounds,
            "artifacts": artifacts,
            "rows": [_latency_row(row, ms, sizes, errors, tuple(yolo_exports))
                     for row in ROWS]}


def _latency_row(row: str, ms: dict, sizes: dict, errors: dict,
                 peer_names: Sequence[str] = PEERS) -> dict:
    ours = ms.get(f"specks/{row}")
    out = {"artifact": row, "specks_ms": ours, "specks_kb": sizes.get(f"specks/{row}")}
    for peer in peer_names:
        theirs = ms.get(f"{peer}/{row}")
        out |= {f"{peer}_ms": theirs, f"{peer}_over_specks": ratio(theirs, ours),
                f"{peer}_kb": sizes.get(f"{peer}/{row}"),
                f"{peer}_note": errors.get(f"{peer}/{row}") or (
                    None if theirs is not None else "Ultralytics has no int8 ExecuTorch export")}
    return out


def latency_worker(args: argparse.Namespace) -> dict:
    """In this process: load every artifact, time all rows interleaved, medians in ms."""
    from bench.export import time_interleaved
    from firmware_py.runtimes.executorch import ExecuTorchRunner
    from firmware_py.runtimes.litert import LiteRTRunner

    tile = np.load(args.tile)
    timers = {}
    for name, path in json.loads(args.artifacts.read_text()).items():
        runner = (ExecuTorchRunner(path, num_threads=args.threads) if path.endswith(".pte")
                  else LiteRTRunner(path, num_threads=args.threads))
        native = [native_input(tile, runner.inputs[0])]
        timers[name] = lambda r=runner, n=native: r.run(n)
    return time_interleaved(timers, args.rounds)


def write_clip(folder: Path, frames: int, seed: int, scene: str) -> None:
    """``bench/pipeline.py``'s scene, as PNG frames (lossless: both environments decode the
    same pixels, which two OpenCV builds decoding mp4v need not)."""
    write_scene(folder, scene, frames, seed=seed, video=False)


def tiles(args: argparse.Namespace, bundle: Path, yolo_run: dict) -> dict:
    """Per scene: SAHI + YOLO11n, Specks dense and sparse, on the same PNG frames."""
    from bench.pipeline import run_mode

    results = {}
    for scene in args.scenes:
        clip = args.work / "clips" / scene
        if not (clip / "meta.json").is_file():
            log.info("writing the %d-frame 1920x1080 '%s' clip", args.frames, scene)
            write_clip(clip, args.frames, args.clip_seed, scene)
        truth = [json.loads(line) for line in (clip / "gt.jsonl").read_text().splitlines()]
        sahi = peers(args, "sahi", args.work / f"sahi-{scene}.json", "--weights",
                     yolo_run["weights"], "--clip", clip, "--slice", TILE)
        results[f"{scene}/sahi"] = {
            "method": "SAHI sliced + YOLO11n", "runtime": "PyTorch eager fp32",
            "fps": sahi["frames"] / sahi["seconds"], "calls_per_frame": sahi["calls_per_frame"],
            **score_frames(truth, sahi["predictions"], args.iou)}
        pipeline_args = argparse.Namespace(
            clip=clip, bundle=bundle, prior_bundle=args.prior_bundle, board=args.board,
            threads=args.threads, iou=args.iou, trusted_keys=args.work / "trusted")
        for mode in (m for m in TILE_MODES if m in MODES):
            if mode == "sparse_prior" and not (args.prior_bundle / "manifest.json").is_file():
                log.warning("no prior bundle at %s: skipping %s", args.prior_bundle, mode)
                continue
            log.info("%s: Specks %s ...", scene, mode)
            r = run_mode(mode, pipeline_args)
            prior = f" ({r['prior']})" if r["prior"] else ""
            results[f"{scene}/{mode}"] = {
                "method": TILE_MODES[mode] + prior, "runtime": f"LiteRT {r['artifact']}",
                "prior": r["prior"], **{k: r[k] for k in ("fps", "calls_per_frame", "recall",
                                                          "recall_4_16px", "precision")}}
    return results


# --- report ------------------------------------------------------------------------------------

def targets(result: dict) -> list[dict]:
    """The issue's three targets, each measured in this run."""
    rows = {r["artifact"]: r for r in result["latency"]["rows"]}
    acc = result["accuracy"]
    out = []
    for peer, name in ((p, PEER_NAMES[p]) for p in PEERS if p in acc):
        speed = rows["tflite_int8"].get(f"{peer}_over_specks")
        ours, theirs = acc["specks"]["AP_small"], acc[peer]["AP_small"]
        out += [{"target": f"Specks nano int8 >= 5x faster than {name} int8 (LiteRT, same "
                 "input)", "measured": speed, "goal": 5.0,
                 "met": speed is not None and speed >= 5.0},
                {"target": f"AP_small at equal training budget >= {name}'s",
                 "measured": ours, "goal": theirs,
                 "met": _decided(_ge(ours, theirs), ours, theirs)}]
    for key, sparse in result["tiles"].items():
        scene, _, mode = key.partition("/")
        if mode not in SPARSE:
            continue
        sahi = result["tiles"][f"{scene}/sahi"]
        fps = sparse["fps"] / sahi["fps"]
        gap = 100 * (sahi["recall"] - sparse["recall"])
        out.append({"target": f"[{scene}] {mode} >= 4x SAHI frames/s", "measured": fps,
                    "goal": 4.0, "met": fps >= 4.0})
        out.append({"target": f"[{scene}] {mode} recall within 2 points of SAHI "
                    "(SAHI - Specks, points)", "measured": gap, "goal": 2.0,
                    "met": _decided(gap <= 2.0, sahi["recall"], sparse["recall"])})
    return out


def _ge(a: float | None, b: float | None) -> bool:
    return a is not None and (b is None or a >= b)


NOTHING = 0.01  # an accuracy below this: the model detects (next to) nothing


def _decided(met: bool, *accuracies: float | None) -> bool | None:
    """``None`` (undecided) when no model detects anything: 0 >= 0 shows nothing."""
    return None if all((a or 0.0) < NOTHING for a in accuracies) else met


def _f(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(result: dict) -> str:
    cfg, acc, lat = result["config"], result["accuracy"], result["latency"]
    peers_run = [p for p in PEERS if p in result["training"]]
    names = [PEER_NAMES[p] for p in peers_run]
    lines = [f"`bench/peers.py` on {cfg['machine']}, {cfg['threads']} threads for every runtime "
             "and trainer; every timing side by side in one run.", "",
             f"**Latency**, 1x3x{TILE}x{TILE}, median of {lat['rounds']} interleaved rounds:", "",
             "| runtime | precision | Specks nano ms | "
             + "".join(f"{n} ms | {n} / Specks | " for n in names)
             + "Specks KB | " + "".join(f"{n} KB | " for n in names),
             "|---|---|---|" + "---|---|" * len(names) + "---|" * (1 + len(names))]
    for r in lat["rows"]:
        fmt, _, precision = r["artifact"].partition("_")
        cells = []
        for peer in peers_run:
            theirs = r.get(f"{peer}_ms")
            speedup = r.get(f"{peer}_over_specks")
            cells += [_f(theirs, 2) if theirs is not None else f"- ({r[f'{peer}_note']})",
                      "-" if speedup is None else f"{speedup:.2f}x"]
        sizes = [_f(r["specks_kb"], 0)] + [_f(r.get(f"{peer}_kb"), 0) for peer in peers_run]
        lines.append(f"| {RUNTIME[fmt]} | {precision} | {_f(r['specks_ms'], 2)} | "
                     + " | ".join(cells + sizes) + " |")
    train = result["training"]
    lines += ["", f"**Accuracy at equal training budget** ({cfg['minutes']:g} min each on this "
              f"CPU, {acc['images']} held-out images, {acc['objects']} objects, COCO evaluator "
              "of `models/evaluate.py`):", "",
              "| model | params | trained | input | mAP50 | mAP50-95 | AP_small | AR_small |",
              "|---|---|---|---|---|---|---|---|"]
    specks_run = train["specks"]
    done = {"specks": f"{specks_run['steps']} batches of {specks_run['batch']} "
                      f"{specks_run['tile_size']} px tiles in {specks_run['train_s']:.0f} s"}
    for peer in peers_run:
        run = train[peer]
        done[peer] = (f"{run['batches']} batches of {run['batch']} {run['imgsz']} px images "
                      f"({run['epochs']} epochs) in {run['train_s']:.0f} s")
    models = [("specks", "Specks nano")] + [(p, f"{PEER_NAMES[p]} (from yaml)")
                                           for p in peers_run]
    for key, name in models:
        m = acc[key]
        lines.append(f"| {name} | {m['params'] / 1e6:.2f} M | {done[key]} | {m['input']} | "
                     f"{_f(m['mAP50'])} | {_f(m['mAP50-95'])} | {_f(m['AP_small'])} | "
                     f"{_f(m['AR_small'])} |")
    lines += ["", f"**Tiled inference**, 1920x1080, {cfg['frames']} frames, {TILE} tiles "
              "(recall at IoU 0.5; SAHI runs PyTorch eager, Specks LiteRT int8):", "",
              "| scene | method | runtime | calls/frame | frames/s | recall | recall 4-16 px | "
              "precision |", "|---|---|---|---|---|---|---|---|"]
    for key, r in result["tiles"].items():
        lines.append(f"| {key.split('/')[0]} | {r['method']} | {r['runtime']} | "
                     f"{r['calls_per_frame']:.1f} | {r['fps']:.2f} | {r['recall']:.3f} | "
                     f"{r['recall_4_16px']:.3f} | {r['precision']:.3f} |")
    lines += ["", "**Targets**:", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    for t in result["targets"]:
        met = {True: "yes", False: "no", None: "undecided: neither model detects anything"}
        lines.append(f"| {t['target']} | {_f(t['measured'], 3)} | {_f(t['goal'], 3)} | "
                     f"{met[t['met']]} |")
    return "\n".join(lines) + "\n"


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return f"{model} ({os.cpu_count()} cores)"


# --- main --------------------------------------------------------------------------------------

def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "bench" / "peers")
    p.add_argument("--peers-python", type=Path, default=ROOT / ".venv-peers" / "bin" / "python")
    p.add_argument("--minutes", type=float, default=5.0, help="training budget of each model")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-images", type=int, default=None, help="default: the recipe's")
    p.add_argument("--heldout-images", type=int, default=None, help="default: the recipe's")
    p.add_argument("--rounds", type=int, default=100, help="interleaved latency rounds")
    p.add_argument("--frames", type=int, default=60, help="frames per 1080p clip")
    p.add_argument("--scenes", type=lambda s: s.split(","), default=["few", "many"],
                   help=f"of {', '.join(SCENES)}")
    p.add_argument("--clip-seed", type=int, default=11)
    p.add_argument("--iou", type=float, default=0.5)
    p.add_argument("--board", default="x86-generic")
    p.add_argument("--prior-bundle", type=Path, default=ZOO / "csnet-prior")
    p.add_argument("--reuse", action="store_true", help="keep trained models, exports and "
                   "held-out predictions found in --work (timings are always measured anew)")
    p.add_argument("--json", type=Path, default=ROOT / "runs" / "bench" / "peers.json")
    p.add_argument("--md", type=Path, default=ROOT / "runs" / "bench" / "peers.md")
    p.add_argument("--readme", type=Path, default=None, help="also replace the table between "
                   f"{README_BEGIN} and {README_END} in this file")
    p.add_argument("--worker", choices=("latency",), default=None)
    p.add_argument("--artifacts", type=Path, help="worker: JSON {row: artifact path}")
    p.add_argument("--tile", type=Path, help="worker: .npy float32 NCHW input")
    p.add_argument("--out", type=Path, help="worker: JSON output")
    return p.parse_args()


def main() -> None:
    args = parse()
    if args.worker:
        args.out.write_text(json.dumps(latency_worker(args), indent=1))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.peers_python.is_file():
        sys.exit(f"{args.peers_python} not found: run `make bench-peers` (it creates .venv-peers "
                 "from bench/peers-requirements.txt)")
    args.work.mkdir(parents=True, exist_ok=True)
    log.info("data ...")
    train_yaml, heldout = make_data(args)
    log.info("training Specks nano for %g min ...", args.minutes)
    specks_run = train_specks(args, train_yaml)
    yolo_runs = {}
    for peer in PEERS:
        log.info("training %s for %g min ...", PEER_NAMES[peer], args.minutes)
        yolo_runs[peer] = peers(args, "train", args.work / f"{peer}-train.json", "--data",
                                train_yaml, "--yaml", f"{peer}.yaml", "--minutes", args.minutes)
    log.info("held-out accuracy ...")
    acc = accuracy(args, heldout, specks_run, yolo_runs)
    log.info("exports ...")
    bundle = export_specks(args, specks_run["checkpoint"], train_yaml)
    yolo_exports = {peer: peers(args, "export", args.work / f"{peer}-export.json", "--weights",
                                run["weights"], "--data", train_yaml, "--imgsz", TILE,
                                "--out-dir", args.work / f"{peer}-export", "--name", peer)
                    for peer, run in yolo_runs.items()}
    log.info("latency ...")
    lat = latency(args, bundle, yolo_exports, heldout)
    log.info("tiled inference ...")
    tiled = tiles(args, bundle, yolo_runs["yolo11n"])
    result = {"config": {"machine": machine(), "threads": args.threads, "minutes": args.minutes,
                         "frames": args.frames, "scenes": args.scenes, "iou": args.iou,
                         "board": args.board},
              "training": {"specks": specks_run, **yolo_runs},
              "accuracy": acc, "latency": lat, "tiles": tiled}
    result["targets"] = targets(result)
    table = markdown(result)
    for path, text in ((args.json, json.dumps(result, indent=1, default=float)),
                       (args.md, table)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if args.readme:
        args.readme.write_text(splice(args.readme.read_text(), table))
    print(table)


if __name__ == "__main__":
    main()
