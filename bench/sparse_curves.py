"""Sparse sampling's recall against the tiles it runs, per clip, and what each cue of the tile
prior is worth (issue 16, items 1-3), on ``bench/clips.py``'s 1920x1080 scenes.

Every run goes through the real device code (``FrameProcessor``: prior, sampler, decode,
merge, tracks, carry) with a replay detector (``bench/clips.py``'s ``ReplayModel``): a dense
pass runs the shipped detector (LiteRT int8) on every tile of every frame once, and later runs
look each tile's detections up by its bytes. ``--check`` reruns the profile's sparse mode with
the real detector and compares.

1. Recall/tiles curves (a PNG per clip in ``--figures``): sparse mode as the profile sets it,
   its adaptive budget capped at ``k`` tiles per frame for ``k`` in ``CAPS``, and uncapped
   with a larger exploration share (``EXPLORE``: the adaptive budget alone stops where the
   prior lights nothing more), against a uniform draw of ``k`` tiles per frame through the
   same pipeline (same carry and tracks, no cue, no revisit forcing), and dense. The x axis
   is the mean tiles run per frame, as a share of the grid.
2. Cue table: per cue of the prior, its tile ROC-AUC over all frames of all clips (a tile is
   positive when its core holds an object's centre; Mann-Whitney U with ties halved), its cost
   per frame (milliseconds, measured here on the lores or main frame as the pipeline computes
   it; the saliency bundle at the board's threads, on every frame), and the recall of sparse
   mode with that cue alone at a fixed budget equal to the profile's mean tiles per frame on
   that clip, against the same sampler with no cue at all (its revisit guarantee and
   age-weighted exploration only): the recall the cue gains at equal tiles. The tracks cue
   alone is what the memory of past detections gives; the uniform draw is shown too.

    .venv/bin/python bench/sparse_curves.py [--frames 90] [--scenes few,pan] [--check]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.clips import (  # noqa: E402
    SCENES,
    ReplayModel,
    ReplaySaliency,
    Score,
    clip_frames,
    write_scene,
)
from bench.pipeline import TILE_SHARE, TILE_TARGET, uniform_draw  # noqa: E402
from firmware_py.board import BoardConfig, load_board  # noqa: E402
from firmware_py.pipeline.frame import FrameProcessor, FrameResult  # noqa: E402
from firmware_py.pipeline.model import BundleModel  # noqa: E402
from firmware_py.sparse.edges import EdgeWatch  # noqa: E402
from firmware_py.sparse.prior import TilePrior, detection_scores, pool_map  # noqa: E402
from firmware_py.tiling import TileGrid  # noqa: E402
from firmware_py.verify import load_trusted_keys  # noqa: E402

ZOO = ROOT / "models" / "zoo" / "bundles"
CAPS = (1, 2, 3, 4, 6, 8, 12, 16, 24)
EXPLORE = (0.1, 0.25, 0.5)  # beyond what the prior lights: more exploration, up to the grid
ALONE = ["prior.saliency_weight=0.0", "prior.motion_weight=0.0", "prior.detection_weight=0.0",
         "prior.edge_weight=0.0"]
CUES = {  # cue -> the weight that turns it back on (the profile's value)
    "motion": "prior.motion_weight", "edges": "prior.edge_weight",
    "tracks": "prior.detection_weight", "saliency": "prior.saliency_weight",
}


def alone(cue: str, board: BoardConfig) -> list[str]:
    """Overrides that leave only ``cue`` in the prior (at the profile's weight, or 0.8 for a
    saliency weight the profile keeps low because it fuses it with the others)."""
    key = CUES[cue]
    weight = getattr(board.prior, key.split(".")[1]) if cue != "saliency" else 0.8
    return [o for o in ALONE if not o.startswith(key)] + [f"{key}={weight}"]


def fixed(k: int) -> list[str]:
    return [f"sampler.budget={k}", "sampler.level=null"]


class Runner:
    """Replays clips through ``FrameProcessor`` with one board, detector and prior."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        keys = load_trusted_keys(args.trusted_keys)
        self.board = load_board(args.board, [f"runtime.threads={args.threads}"])
        rt = self.board.runtime
        self.model = BundleModel(args.bundle, keys, rt.prefer, rt.precision, rt.threads)
        self.prior = None
        if args.prior_bundle.is_dir():
            self.prior = ReplaySaliency(BundleModel(args.prior_bundle, keys, rt.prefer,
                                                    rt.precision, rt.threads))
        self.caches: dict[str, dict] = {}

    def run(self, scene: str, overrides: list[str], mode: str = "sparse",
            saliency: bool = False, live: bool = False, probe: CueProbe | None = None
            ) -> dict:
        board = load_board(self.args.board, [f"runtime.threads={self.args.threads}",
                                             *overrides])
        cache = self.caches.setdefault(scene, ReplayModel.load(self.cache_path(scene)))
        detector = self.model if live else ReplayModel(self.model, cache)
        proc = FrameProcessor(board, detector, mode, self.prior if saliency else None)
        score = Score(self.args.iou)
        for i, (frame, truth, _) in enumerate(clip_frames(self.clip(scene),
                                                          tuple(board.camera.lores_size))):
            if probe is not None:
                probe.before(i, frame, truth, proc)
            result = proc(frame)
            if probe is not None:
                probe.after(result)
            score.add(truth, result.detections.boxes, result.detections.tracks,
                      result.tiles_run)
        if not live and detector.runs:
            detector.save(self.cache_path(scene))
        return {**score.summary(), "grid": len(proc.grid)}

    def clip(self, scene: str) -> Path:
        return self.args.clips / self.args.size / scene

    def cache_path(self, scene: str) -> Path:
        return self.args.cache / self.args.size / f"{scene}-floor{ReplayModel.FLOOR}.pkl"


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC-AUC by the Mann-Whitney U statistic, ties counted half."""
    scores, positive = np.asarray(scores, np.float64), np.asarray(positive, bool)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    ranks = (upper - (counts - 1) / 2.0)[inverse]  # average 1-based ranks
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return float("nan")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class CueProbe:
    """Per frame of a sparse run: each cue's tile scores, computed the way the prior does,
    the tiles holding an object, and each cue's time."""

    def __init__(self, runner: Runner) -> None:
        self.runner, self.scores, self.ms = runner, {}, {}
        self.positive: list[np.ndarray] = []
        self._motion = self._plain = self._edges = None

    def _time(self, name: str, fn: Callable[[], np.ndarray]) -> np.ndarray:
        t = time.perf_counter()
        out = np.asarray(fn(), np.float64)
        self.ms.setdefault(name, []).append(1000 * (time.perf_counter() - t))
        self.scores.setdefault(name, []).append(out)
        return out

    def after(self, result: FrameResult) -> None:
        """The prior the sampler drew from."""
        self.scores.setdefault("prior (all cues, as the profile fuses them)", []).append(
            result.probability)

    def before(self, i: int, frame: Any, truth: dict, proc: FrameProcessor) -> None:
        """Each cue on frame ``i`` (the tracks as they are before it runs)."""
        board = self.runner.board
        if i == 0:
            tile_h, tile_w = self.runner.model.tile_size
            height, width = frame.main.shape[:2]
            self.grid = TileGrid(width, height, tile_w, tile_h, board.tiles.overlap)
            self._motion = TilePrior(self.grid, board.prior)
            self._plain = TilePrior(self.grid, board.prior.model_copy(update={
                "motion_align": False, "motion_gain": False}))
            self._edges = EdgeWatch(self.grid, board.prior.edge_width,
                                    board.prior.edge_threshold)
        grid, tracker = self.grid, proc.tracker
        self._time("motion (lores, aligned, gain)", lambda: self._motion.motion(frame.lores))
        self._time("motion (lores, plain differencing)", lambda: self._plain.motion(frame.lores))
        self._time("edges (main frame border)", lambda: self._edges(frame.main))
        self._time("tracks (live tracks' predicted centres)", lambda: detection_scores(
            grid, tracker.predict(i), np.ones(len(tracker)), board.prior.region))
        if self.runner.prior is not None:
            self._time("saliency (csnet-prior, every frame)", lambda: self._saliency(
                frame.lores, grid))
        gt = np.asarray(truth["boxes"], np.float32).reshape(-1, 4)
        self.positive.append(detection_scores(grid, gt, np.ones(len(gt)), "core") > 0)

    def _saliency(self, lores: np.ndarray, grid: TileGrid) -> np.ndarray:
        import cv2

        model = self.runner.prior.model  # the real bundle: its cost is what is timed
        h, w = model.tile_size
        image = cv2.resize(lores, (w, h), interpolation=cv2.INTER_AREA)
        return pool_map(np.squeeze(model.saliency(image)), grid, "max", "core")


def curves(runner: Runner, scene: str) -> dict:
    """Recall against mean tiles per frame: sparse capped at each of ``CAPS`` and, uncapped,
    with each exploration share of ``EXPLORE``; the uniform draw at each cap; the profile's
    sparse and dense."""
    out = {"dense": runner.run(scene, [], "dense"), "profile": runner.run(scene, [])}
    grid = out["dense"]["grid"]
    caps = [k for k in CAPS if k < grid] + [grid]
    out["sparse"] = [runner.run(scene, [f"sampler.budget={k}"]) for k in caps[:-1]] + [
        runner.run(scene, [f"sampler.budget={grid}", f"sampler.explore={e}"])
        for e in EXPLORE]
    out["uniform"] = [runner.run(scene, uniform_draw(k)) for k in caps]
    return out


def cue_recalls(runner: Runner, scene: str, k: int) -> dict:
    """Recall at a fixed budget of ``k`` tiles: each cue alone, none (the sampler's revisit
    guarantee and age-weighted exploration only), all of them, all with the saliency bundle,
    and the uniform draw."""
    out = {cue: runner.run(scene, fixed(k) + alone(cue, runner.board),
                           saliency=cue == "saliency")
           for cue in CUES if cue != "saliency" or runner.prior is not None}
    out["no cue"] = runner.run(scene, fixed(k) + ALONE)
    out["all cues"] = runner.run(scene, fixed(k))
    if runner.prior is not None:
        out["all cues + saliency"] = runner.run(scene, fixed(k), saliency=True)
    out["uniform"] = runner.run(scene, uniform_draw(k))
    return out


def plot(scene: str, c: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = c["dense"]["grid"]
    fig, ax = plt.subplots(figsize=(4.2, 3.2), dpi=110)
    for name, style in (("sparse", "o-"), ("uniform", "s--")):
        points = sorted((100 * r["tiles_per_frame"] / grid, r["recall"]) for r in c[name])
        label = "sparse (profile; budget capped, or more exploration)" if name == "sparse" \
            else "uniform random"
        ax.plot(*zip(*points, strict=True), style, ms=3, label=label)
    p = c["profile"]
    ax.plot(100 * p["tiles_per_frame"] / grid, p["recall"], "*", ms=11, color="C3",
            label="sparse, profile as shipped")
    dense = c["dense"]["recall"]
    ax.axhline(dense, color="k", lw=0.8, label="dense")
    ax.axhline(dense - 0.02, color="k", lw=0.8, ls=":", label="dense - 2 points")
    ax.axvline(100 * TILE_SHARE.get(scene, TILE_TARGET), color="grey", lw=0.8, ls="--")
    ax.set(xlabel="tiles run per frame, % of the grid", ylabel="recall (IoU 0.5)",
           title=f"{scene} ({grid} tiles)", xlim=(0, 102))
    ax.legend(fontsize=6, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bundle", type=Path, default=ZOO / "specknet-nano")
    p.add_argument("--prior-bundle", type=Path, default=ZOO / "csnet-prior")
    p.add_argument("--trusted-keys", type=Path, default=ROOT / "board_configs" / "trusted_keys")
    p.add_argument("--board", default="x86-generic")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=90)
    p.add_argument("--size", default="1920x1080", help="clip size, WxH")
    p.add_argument("--scenes", type=lambda s: s.split(","), default=list(SCENES))
    p.add_argument("--iou", type=float, default=0.5)
    p.add_argument("--check", action="store_true", help="rerun the profile's sparse mode with "
                   "the real detector and compare with the replay")
    p.add_argument("--clips", type=Path, default=ROOT / "runs" / "bench" / "clips")
    p.add_argument("--cache", type=Path, default=ROOT / "runs" / "bench" / "replay")
    p.add_argument("--figures", type=Path, default=ROOT / "bench" / "figures")
    p.add_argument("--json", type=Path, default=ROOT / "runs" / "bench" / "sparse_curves.json")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    runner = Runner(args)
    width, height = (int(v) for v in args.size.lower().split("x"))
    results, probe = {}, CueProbe(runner)
    for scene in args.scenes:
        if not (runner.clip(scene) / "meta.json").is_file():
            write_scene(runner.clip(scene), scene, args.frames, width, height)
        logging.info("%s: dense pass, curves ...", scene)
        c = curves(runner, scene)
        plot(scene, c, args.figures / f"recall_tiles_{scene}.png")
        k = max(1, round(c["profile"]["tiles_per_frame"]))
        logging.info("%s: cues at %d tiles per frame ...", scene, k)
        results[scene] = {"curves": c, "k": k, "cues": cue_recalls(runner, scene, k)}
        runner.run(scene, [], probe=probe)
        if args.check:
            live = runner.run(scene, [], live=True)
            results[scene]["replay_equals_live"] = live == c["profile"]
    report(results, probe)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))


def report(results: dict, probe: CueProbe) -> None:
    print("\nRecall/tiles (profile's sparse mode; dense; uniform draw at the same tiles):\n")
    print("| scene | grid | dense recall | sparse recall | gap (points) | sparse tiles % | "
          "target % | uniform recall at sparse's tiles | replay = live |")
    print("|---|---|---|---|---|---|---|---|---|")
    for scene, r in results.items():
        c = r["curves"]
        grid, d, s = c["dense"]["grid"], c["dense"]["recall"], c["profile"]
        print(f"| {scene} | {grid} | {d:.3f} | {s['recall']:.3f} | "
              f"{100 * (d - s['recall']):+.1f} | {100 * s['tiles_per_frame'] / grid:.0f} | "
              f"{100 * TILE_SHARE.get(scene, TILE_TARGET):.0f} | "
              f"{r['cues']['uniform']['recall']:.3f} | "
              f"{ {True: 'yes', False: 'NO'}.get(r.get('replay_equals_live'), '-') } |")
    positive = np.concatenate(probe.positive)
    scenes = list(results)
    print("\nCues (ROC-AUC over every tile of every frame of every clip; recall with the cue "
          "alone at the profile's mean tiles per frame k, fixed; gain over the same sampler "
          "with no cue):\n")
    print("| cue | tile ROC-AUC | ms / frame | " + " | ".join(f"recall {s} (k={results[s]['k']})"
                                                        for s in scenes)
          + " | mean gain over no cue (points) |")
    print("|---|---|---|" + "---|" * len(scenes) + "---|")
    rows = {"motion (lores, aligned, gain)": "motion",
            "motion (lores, plain differencing)": None, "edges (main frame border)": "edges",
            "tracks (live tracks' predicted centres)": "tracks",
            "saliency (csnet-prior, every frame)": "saliency",
            "prior (all cues, as the profile fuses them)": "all cues"}
    for name, cue in rows.items():
        if name not in probe.scores:
            continue
        area = auc(np.concatenate(probe.scores[name]), positive)
        ms = f"{np.mean(probe.ms[name]):.2f}" if name in probe.ms else "-"
        print(f"| {name} | {area:.3f} | {ms} | {recall_cells(results, scenes, cue)} |")
    for name, cue in (("all cues + saliency (csnet-prior)", "all cues + saliency"),
                      ("no cue (revisit guarantee, age-weighted exploration)", "no cue"),
                      ("uniform draw (no cue, no revisit)", "uniform")):
        if cue in results[scenes[0]]["cues"]:
            print(f"| {name} | - | - | {recall_cells(results, scenes, cue)} |")


def recall_cells(results: dict, scenes: list[str], cue: str | None) -> str:
    """The recall cells of ``cue`` per scene and its mean gain over no cue, in points."""
    if cue is None:
        return " | ".join("-" for _ in scenes) + " | -"
    cues = [results[s]["cues"][cue] for s in scenes]
    gain = np.mean([100 * (c["recall"] - results[s]["cues"]["no cue"]["recall"])
                    for s, c in zip(scenes, cues, strict=True)])
    return " | ".join(f"{c['recall']:.3f}" for c in cues) + f" | {gain:+.1f}"


if __name__ == "__main__":
    main()
