"""Device merge cost at ~10k candidates: the merge's share of a 90-tile frame's time.

Issue 16, item 6: at a low score threshold the device merge (NMS over ~9000 candidates of a
90-tile image) took 2.2 s of a 4 s frame with a K x K overlap matrix. This bench cuts a
3200x1792 synthetic scene (91 tiles of 320 px, overlap 0.2) into tiles, runs the shipped
detector on every tile (LiteRT int8, the board's threads), decodes each tile at a low peak
threshold (up to 150 peaks a tile) so the frame yields ~10k candidates, and times, side by
side in one run, the frame's crop + inference + decode and the device merge over all candidates
(:func:`firmware_py.pipeline.merge.merge`: cut copies dropped, then class-agnostic NMS, or
SAHI's greedy NMM). Then the merge alone over 1x, 2x and 4x the candidates (the frame's
boxes repeated side by side, as a frame 2x and 4x as wide) shows how its time grows. Medians
of ``--rounds``.

    .venv/bin/python bench/merge.py [--threshold 0.01] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware_py.board import MergeConfig, load_board  # noqa: E402
from firmware_py.decode import decode_centernet  # noqa: E402
from firmware_py.pipeline.merge import merge  # noqa: E402
from firmware_py.pipeline.model import BundleModel  # noqa: E402
from firmware_py.sparse import FrameDetections  # noqa: E402
from firmware_py.tiling import TileGrid  # noqa: E402
from firmware_py.verify import load_trusted_keys  # noqa: E402

ZOO = ROOT / "models" / "zoo" / "bundles"
PEAKS = 150  # peaks kept per tile (the manifest keeps 100): ~10k candidates over 91 tiles


def scene(width: int, height: int, seed: int) -> np.ndarray:
    from models.data.synth import SynthConfig, synth_image

    cfg = SynthConfig(width=width, height=height, min_size=4, max_size=32, objects=(150, 250),
                      distractors=(150, 300), background_prob=0.0)
    return synth_image(cfg, seed).image


def median_s(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def candidates(model: BundleModel, grid: TileGrid, image: np.ndarray, threshold: float
               ) -> tuple[FrameDetections, float]:
    """Every tile's decoded detections at peak threshold ``threshold`` in frame pixels, and
    the seconds the tiles took (crop + inference + decode)."""
    spec = model.manifest.decode.model_copy(update={"score_threshold": threshold,
                                                    "max_detections": PEAKS})
    tile = np.empty((1, grid.tile_height, grid.tile_width, 3), np.uint8)
    parts = [FrameDetections.empty()]
    t = time.perf_counter()
    for index in range(len(grid)):
        found = decode_centernet(model.raw(grid.crop(image, [index], tile)[0]), spec)[0]
        parts.append(FrameDetections(grid.to_frame(found.boxes, index).astype(np.float32),
                                     found.scores, found.labels,
                                     np.full(len(found), index, np.int64),
                                     np.zeros(len(found), bool)))
    return FrameDetections.concat(parts), time.perf_counter() - t


def side_by_side(d: FrameDetections, grid: TileGrid, copies: int) -> tuple[FrameDetections,
                                                                              TileGrid]:
    """``copies`` copies of the frame's candidates next to each other: the candidates of a
    frame ``copies`` times as wide, and its grid."""
    wide = TileGrid(grid.width * copies, grid.height, grid.tile_width, grid.tile_height,
                    grid.overlap)
    parts = []
    for k in range(copies):
        shift = np.array([k * grid.width, 0] * 2, np.float32)
        x0 = grid.origins[d.tiles, 0] + k * grid.width  # the same tile in the wide grid
        tiles = np.searchsorted(wide.x_origins, x0) + np.searchsorted(
            wide.y_origins, grid.origins[d.tiles, 1]) * wide.cols
        parts.append(FrameDetections(d.boxes + shift, d.scores, d.labels, tiles,
                                     d.interpolated))
    return FrameDetections.concat(parts), wide


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bundle", type=Path, default=ZOO / "specknet-nano")
    p.add_argument("--trusted-keys", type=Path, default=ROOT / "board_configs" / "trusted_keys")
    p.add_argument("--board", default="x86-generic")
    p.add_argument("--threshold", type=float, default=0.01, help="decode peak threshold")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    board = load_board(args.board)
    rt = board.runtime
    model = BundleModel(args.bundle, load_trusted_keys(args.trusted_keys), rt.prefer,
                        rt.precision, rt.threads)
    tile_h, tile_w = model.tile_size
    grid = TileGrid(3200, 1792, tile_w, tile_h, board.tiles.overlap)
    image = scene(grid.width, grid.height, args.seed)
    found, _ = candidates(model, grid, image, args.threshold)  # warm-up
    active = np.ones(len(grid), bool)
    print(f"{grid.width}x{grid.height}, {len(grid)} tiles, {len(found)} candidates at peak "
          f"threshold {args.threshold} ({model.artifact.file}, {rt.threads} threads)\n")
    print("| merge | candidates | merge ms | frame ms (tiles + merge) | merge share |")
    print("|---|---|---|---|---|")
    for method, metric in (("nms", "iou"), ("greedy_nmm", "ios")):
        config = MergeConfig(method=method, metric=metric, score_threshold=0.0)
        tiles_s, merge_s = [], []
        for _ in range(args.rounds):  # interleaved: the tiles, then the merge of their boxes
            d, seconds = candidates(model, grid, image, args.threshold)
            tiles_s.append(seconds)
            merge_s.append(median_s(lambda d=d, c=config: merge(d, grid, active, c,
                                                                board.tiles.cut_margin), 1))
        frame = statistics.median(tiles_s) + statistics.median(merge_s)
        share = statistics.median(merge_s) / frame
        print(f"| {method} ({metric}) | {len(found)} | {1000 * statistics.median(merge_s):.1f} "
              f"| {1000 * frame:.0f} | {100 * share:.1f} % (target <= 10 %) |")
    print("\nGrowth (NMS, IoU 0.5; the frame's candidates repeated side by side, as a frame "
          "that many times as wide):\n")
    print("| candidates | tiles | merge ms | ms per 1k candidates |")
    print("|---|---|---|---|")
    config = MergeConfig(score_threshold=0.0)
    for copies in (1, 2, 4):
        d, wide = side_by_side(found, grid, copies)
        on = np.ones(len(wide), bool)
        seconds = median_s(lambda d=d, w=wide, on=on: merge(d, w, on, config,
                                                            board.tiles.cut_margin), args.rounds)
        print(f"| {len(d)} | {len(wide)} | {1000 * seconds:.1f} | "
              f"{1e6 * seconds / len(d):.2f} |")


if __name__ == "__main__":
    main()
