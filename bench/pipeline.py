"""Device pipeline: dense vs sparse vs full-frame on a 1920x1080 synthetic stream, one run.

Two clips with small moving objects (4-32 px) and per-frame ground truth are written once
(``models/data/synth.py`` ``write_clip``): ``few`` (2-5 objects per frame: a sky with a few
drones or birds, where sparse sampling should pay off) and ``many`` (8-16 objects spread over
the frame, where most tiles hold something and a budget of k tiles cannot cover them). Then
each mode (``dense``, ``sparse`` with the motion and detection cues, ``sparse_prior`` adding
the ``csnet-prior`` saliency bundle, ``full_frame``) runs in its own
fresh process (so its peak RSS is its own and torch is never loaded there), on the same
frames, through the real device code: ``SynthSource`` -> lores resize -> ``FrameProcessor``
(prior, plan, LiteRT inference, decode, carry, merge) -> ``JsonlSink``. Frames are taken one
after another without pacing (every frame is processed; no drops), so frames/s is the
pipeline's own throughput.

Reported per mode: frames/s, detector calls per frame, recall and precision against the
ground truth (a detection matches an unmatched object of any class at IoU >= ``--iou``,
greedily by score; recall also for objects of 4-16 px), the mean time per frame of each stage
(capture = decode the video frame + make lores; prior; crop; infer; decode; merge; sink),
non-inference overhead as a share of frame time, and peak RSS (``VmHWM``). Then the
ratios the targets are about: sparse/dense throughput (>= 3x), the recall gap (<= 2 points),
overhead (<= 10 %), RSS (<= 150 MB).

    .venv/bin/python bench/pipeline.py [--bundle B] [--prior-bundle P] [--frames 90]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware_py.nms import pairwise_overlap  # noqa: E402

MODES = ("dense", "sparse", "sparse_prior", "full_frame")
STAGES = ("capture", "prior", "crop", "infer", "decode", "merge", "sink")
ZOO = ROOT / "models" / "zoo" / "bundles"


SCENES = {"few": (2, 5), "many": (8, 16)}  # objects per frame


def write_clip(folder: Path, frames: int, seed: int, objects: tuple[int, int]) -> None:
    from models.data.synth import SynthConfig
    from models.data.synth import write_clip as synth_clip

    cfg = SynthConfig(width=1920, height=1080, min_size=4, max_size=32, objects=objects)
    synth_clip(folder, cfg, frames, seed=seed)


def match(gt: np.ndarray, boxes: np.ndarray, iou: float) -> tuple[np.ndarray, int]:
    """Per ground-truth box: matched or not; and the number of matched detections (boxes are
    in descending score order)."""
    hit = np.zeros(len(gt), bool)
    if len(gt) == 0 or len(boxes) == 0:
        return hit, 0
    overlap = pairwise_overlap(boxes, gt)  # (D, G)
    matched = 0
    for row in overlap:
        row = np.where(hit, -1.0, row)
        j = int(np.argmax(row))
        if row[j] >= iou:
            hit[j] = True
            matched += 1
    return hit, matched


def worker(args: argparse.Namespace) -> dict:
    """One mode, in this process: every frame of the clip through the device pipeline."""
    import cv2

    from firmware_py.board import load_board
    from firmware_py.pipeline.frame import FrameProcessor
    from firmware_py.pipeline.model import BundleModel
    from firmware_py.sinks import create_sink
    from firmware_py.sinks.message import DetectionMessage
    from firmware_py.sources import Frame, create_source
    from firmware_py.verify import load_trusted_keys

    board = load_board(args.board, [f"runtime.threads={args.threads}"])
    keys = load_trusted_keys(args.trusted_keys)
    rt = board.runtime
    detector = BundleModel(args.bundle, keys, rt.prefer, rt.precision, rt.threads)
    prior = None
    if args.mode == "sparse_prior":
        prior = BundleModel(args.prior_bundle, keys, rt.prefer, rt.precision, rt.threads)
    processor = FrameProcessor(board, detector, args.mode.removesuffix("_prior"), prior)
    source = create_source({"type": "synth", "path": str(args.clip), "realtime": False,
                            "loop": False})
    sink = create_sink({"type": "jsonl", "path": os.devnull})
    lores_size = tuple(board.camera.lores_size)
    times = dict.fromkeys(STAGES, 0.0)
    hits, small_hits, objects, small, dets, matched, calls, n = 0, 0, 0, 0, 0, 0, 0, 0
    source.open()
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        streams = source.read()
        if streams is None:
            break
        lores = cv2.resize(streams.main, lores_size, interpolation=cv2.INTER_AREA)
        frame = Frame(n, time.monotonic(), time.time(), streams.main, lores, "bench",
                      streams.index)
        times["capture"] += time.perf_counter() - t
        result = processor(frame)
        for stage, seconds in result.timings.items():
            times[stage] += seconds
        t = time.perf_counter()
        sink.publish_detections(DetectionMessage.from_detections(
            "bench", n, frame.t_wall, result.tiles_run, result.tiles_total, result.detections,
            detector.labels))
        times["sink"] += time.perf_counter() - t
        gt = np.asarray(source.truth(streams.index)["boxes"], np.float32).reshape(-1, 4)
        hit, m = match(gt, result.detections.boxes, args.iou)
        side = np.maximum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1])
        tiny = (side >= 4) & (side <= 16)
        hits, objects, matched = hits + hit.sum(), objects + len(gt), matched + m
        small_hits, small = small_hits + hit[tiny].sum(), small + tiny.sum()
        dets, calls, n = dets + len(result.detections), calls + result.tiles_run, n + 1
    elapsed = time.perf_counter() - start
    source.close()
    frame_ms = {k: 1000 * v / n for k, v in times.items()}
    total = sum(frame_ms.values())
    return {"mode": args.mode, "frames": n, "fps": n / elapsed, "calls_per_frame": calls / n,
            "recall": hits / objects, "recall_4_16px": small_hits / max(small, 1),
            "precision": matched / max(dets, 1), "stage_ms": frame_ms,
            "overhead": 1 - frame_ms["infer"] / total, "artifact": detector.artifact.file,
            "prior": prior.manifest.model if prior else None,
            "peak_rss_mb": peak_rss_mb(),
            "torch_loaded": "torch" in sys.modules}


def peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``). Not ``ru_maxrss``: Linux keeps that across
    ``execve``, so a worker forked from a parent that loaded torch would report the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_mode(mode: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", mode, "--clip", str(args.clip), "--bundle",
           str(args.bundle), "--board", args.board, "--threads", str(args.threads),
           "--iou", str(args.iou), "--trusted-keys", str(args.trusted_keys),
           "--prior-bundle", str(args.prior_bundle)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict]) -> str:
    head = ("| scene | mode | frames/s | calls/frame | recall | recall 4-16 px | precision | "
            + " | ".join(f"{s} ms" for s in STAGES) + " | overhead | peak RSS MB |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for key, r in results.items():
        stages = " | ".join(f"{r['stage_ms'][s]:.1f}" for s in STAGES)
        scene, mode = key.split("/")
        rows.append(f"| {scene} | {mode} | {r['fps']:.2f} | {r['calls_per_frame']:.1f} | "
                    f"{r['recall']:.3f} | {r['recall_4_16px']:.3f} | {r['precision']:.3f} | "
                    f"{stages} | {100 * r['overhead']:.1f} % | {r['peak_rss_mb']:.0f} |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bundle", type=Path, default=ZOO / "specknet-nano")
    p.add_argument("--prior-bundle", type=Path, default=ZOO / "csnet-prior")
    p.add_argument("--trusted-keys", type=Path, default=ROOT / "board_configs" / "trusted_keys")
    p.add_argument("--board", default="x86-generic")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=90)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--iou", type=float, default=0.5)
    p.add_argument("--clip", type=Path, default=None, help="worker: the clip to run")
    p.add_argument("--clips", type=Path, default=ROOT / "runs" / "bench" / "clips",
                   help="where the scene clips are written")
    p.add_argument("--json", type=Path, default=ROOT / "runs" / "bench" / "pipeline.json")
    p.add_argument("--worker", choices=MODES, default=None, dest="mode")
    args = p.parse_args()
    if args.mode:
        print(json.dumps(worker(args)))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = {}
    for scene, objects in SCENES.items():
        args.clip = args.clips / scene
        if not (args.clip / "meta.json").is_file():
            logging.info("writing the %d-frame 1920x1080 '%s' clip to %s", args.frames, scene,
                         args.clip)
            write_clip(args.clip, args.frames, args.seed, objects)
        for mode in MODES:
            logging.info("%s: running %s ...", scene, mode)
            results[f"{scene}/{mode}"] = run_mode(mode, args)
    print(table(results))
    for scene in SCENES:
        report(scene, {m: results[f"{scene}/{m}"] for m in MODES})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))


def report(scene: str, r: dict[str, dict]) -> None:
    dense, sparse, full, prior = r["dense"], r["sparse"], r["full_frame"], r["sparse_prior"]
    print(f"\n[{scene}] sparse / dense throughput: {sparse['fps'] / dense['fps']:.2f}x "
          "(target >= 3x)")
    print(f"[{scene}] recall gap (dense - sparse): "
          f"{100 * (dense['recall'] - sparse['recall']):+.1f} points (target <= 2)")
    print(f"[{scene}] overhead: dense {100 * dense['overhead']:.1f} %, sparse "
          f"{100 * sparse['overhead']:.1f} % (target <= 10 %); without capture (decoding the "
          f"clip): sparse {100 * pipeline_overhead(sparse):.1f} %")
    print(f"[{scene}] peak RSS: sparse {sparse['peak_rss_mb']:.0f} MB, dense "
          f"{dense['peak_rss_mb']:.0f} MB (target <= 150 MB); torch loaded in a worker: "
          f"{any(x['torch_loaded'] for x in r.values())}")
    print(f"[{scene}] the csnet-prior saliency cue: recall {100 * prior['recall']:.1f} vs "
          f"{100 * sparse['recall']:.1f} without it, at {prior['fps'] / sparse['fps']:.2f}x "
          f"the frame rate and {prior['peak_rss_mb'] - sparse['peak_rss_mb']:+.0f} MB")
    print(f"[{scene}] full-frame recall on 4-16 px objects: {full['recall_4_16px']:.3f} vs "
          f"dense {dense['recall_4_16px']:.3f}")


def pipeline_overhead(r: dict) -> float:
    """Non-inference share of frame time, leaving out capture (the clip's video decode)."""
    ms = r["stage_ms"]
    own = sum(v for k, v in ms.items() if k != "capture")
    return 1 - ms["infer"] / own


if __name__ == "__main__":
    main()
