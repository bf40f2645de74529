"""Which part of a detector does not survive int8: float islands, one candidate at a time.

For one checkpoint, the int8 graph of the LiteRT quantizer (PT2E fake-quant, calibrated on
``--num-calib`` train tiles like the exporter) is compared with eager PyTorch on
``--num-val`` held-out tiles, per output (cosine over all tiles together, the export gate's
measure), first with the ``--base`` islands kept float, then with each candidate kept float
as well. A candidate that lifts an output over the gate (0.98) is the part to keep float:
``int8_float_modules`` of the net. A candidate must hold the tensors on both sides of a
quantized edge: keeping one conv float still quantizes its output for the next one.

``--time`` then converts the int8 ``.tflite`` of the base islands and of base + each timed
candidate and times them, with the fp32 ``.tflite``, in LiteRT on one real tile, interleaved
(order shuffled each round), printing medians and ratios to the base.

    .venv/bin/python bench/int8_islands.py --ckpt models/zoo/specknet-nano.pt \\
        --time blocks.0.expand+blocks.0.dw
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from export.calibration import image_paths, image_tiles  # noqa: E402
from export.parity import INT8_MIN_COSINE, compare  # noqa: E402
from export.quantize import litert_quantizer, quantize_pt2e  # noqa: E402
from export.tflite import export_tflite  # noqa: E402
from firmware_py.manifest import InputSpec  # noqa: E402
from firmware_py.runtimes import load_runner  # noqa: E402
from models.checkpoint import model_from_checkpoint  # noqa: E402
from models.data.yolo import read_yolo  # noqa: E402
from models.registry import model_record  # noqa: E402

OUTPUTS = ("heatmap", "size", "offset")


def candidates(model: torch.nn.Module) -> list[tuple[str, ...]]:
    """Every child module, every block, and each block's expand -> depthwise pair."""
    out = [(name,) for name, _ in model.named_children() if name != "blocks"]
    for i, block in enumerate(getattr(model, "blocks", [])):
        out.append((f"blocks.{i}",))
        if hasattr(block, "expand") and hasattr(block, "dw"):
            out.append((f"blocks.{i}.expand", f"blocks.{i}.dw"))
    return out


def parity(model: torch.nn.Module, islands: tuple[str, ...], calib: list[torch.Tensor],
           val: list[torch.Tensor]) -> list[float]:
    """Per output, the export gate's cosine (``export.parity.compare``) of the fake-quant
    graph with ``islands`` float."""
    graph = quantize_pt2e(model, (calib[0],), calib, litert_quantizer(islands))

    def fake_quant(x: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            return [o.numpy() for o in graph(torch.from_numpy(x))]

    result = compare(model, fake_quant, val, OUTPUTS, INT8_MIN_COSINE)
    return [o.cosine for o in result.outputs]


def time_islands(model: torch.nn.Module, base: tuple[str, ...], timed: list[tuple[str, ...]],
                 calib: list[torch.Tensor], rounds: int) -> None:
    runners = {}
    for label, islands, precision in ([("fp32", base, "fp32"), ("base", base, "int8")]
                                      + [("+".join(t), base + t, "int8") for t in timed]):
        model.int8_float_modules = islands
        buffer = export_tflite(model, (calib[0],), precision=precision,
                               calibration=calib).buffer
        runners[label] = load_runner(buffer, "tflite", num_threads=1)
    x = calib[0].numpy()
    times: dict[str, list[float]] = {label: [] for label in runners}
    for _ in range(rounds):
        for label in random.sample(list(runners), len(runners)):
            start = time.perf_counter()
            runners[label](x)
            times[label].append(time.perf_counter() - start)
    base_ms = statistics.median(times["base"]) * 1e3
    for label, samples in times.items():
        ms = statistics.median(samples) * 1e3
        print(f"| {label} | {ms:.2f} | {ms / base_ms:.3f}x |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", default=str(ROOT / "models" / "zoo" / "specknet-nano.pt"))
    p.add_argument("--calib", default="runs/bench-data/train/data.yaml")
    p.add_argument("--val", default="runs/bench-data/heldout/data.yaml")
    p.add_argument("--num-calib", type=int, default=64)
    p.add_argument("--num-val", type=int, default=32)
    p.add_argument("--base", default="head.heatmap", help="islands always float, '+'-joined")
    p.add_argument("--time", action="append", default=[], help="candidate to time, '+'-joined")
    p.add_argument("--rounds", type=int, default=150)
    args = p.parse_args()
    torch.set_num_threads(1)
    model, ckpt = model_from_checkpoint(args.ckpt)
    model.eval()
    spec = InputSpec(shape=(1, *model_record(ckpt["model"]).input_size))
    calib = image_tiles(image_paths(args.calib, "train"), args.num_calib, spec, seed=0)
    held = read_yolo(args.val, "val")
    val = image_tiles([r.path for r in held.records], args.num_val, spec, seed=1)
    base = tuple(args.base.split("+")) if args.base else ()
    from bench.peers import machine

    print(f"{args.ckpt} on {machine()}: int8 output cosines vs eager, {len(val)} held-out tiles, "
          f"gate {INT8_MIN_COSINE}; float: {' + '.join(base) or 'nothing'} and")
    print("| also float | " + " | ".join(OUTPUTS) + " |\n|---|---|---|---|")
    for extra in [()] + candidates(model):
        try:
            cells = [f"{c:.4f}" for c in parity(model, base + extra, calib, val)]
        except KeyError as error:  # the quantizer's spec pass needs a neighbour annotated
            cells = [f"does not convert (KeyError {error})", "", ""]
        print(f"| {' + '.join(extra) or '(nothing)'} | " + " | ".join(cells) + " |", flush=True)
    if args.time:
        print("\nLiteRT, 1 thread, median of interleaved rounds:\n| int8 islands | ms | / base |"
              "\n|---|---|---|")
        time_islands(model, base, [tuple(t.split("+")) for t in args.time], calib, args.rounds)


if __name__ == "__main__":
    main()
