"""Detector presets side by side: parameters, GFLOPs and torch CPU latency at 320x320 (2
threads, interleaved repeats in one run, median), then the shipped model's accuracy on its
held-out synthetic split (regenerated from the recipe's seed, never seen in training).

    .venv/bin/python bench/detector.py [--repeats 30] [--no-accuracy] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from models.checkpoint import model_from_checkpoint
from models.data.synth import SynthConfig, write_dataset
from models.data.yolo import read_yolo
from models.registry import create_model, list_models, model_record
from models.summary import count_gflops, count_params
from models.validate import evaluate_detector
from models.zoo import ZOO_DIR, default_checkpoint

PRESETS = [n for n in list_models() if model_record(n).task == "detection"]


@torch.inference_mode()
def latencies(repeats: int, size: int) -> dict[str, list[float]]:
    models = {n: create_model(n).eval() for n in PRESETS}
    x = torch.rand(1, 3, size, size)
    for m in models.values():  # warm-up
        m(x)
    times: dict[str, list[float]] = {n: [] for n in models}
    for _ in range(repeats):
        for name, m in models.items():  # interleaved: each round runs every preset once
            start = time.perf_counter()
            m(x)
            times[name].append((time.perf_counter() - start) * 1e3)
    return times


def accuracy(checkpoint: Path) -> dict[str, float]:
    recipe = json.loads((ZOO_DIR / "specknet-nano.recipe.json").read_text())["heldout"]
    model, _ = model_from_checkpoint(checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(tmp, SynthConfig(width=recipe["width"], height=recipe["height"]),
                             images=recipe["images"], seed=recipe["seed"], val_fraction=1.0)
        split = read_yolo(data, "val")
        m = evaluate_detector(model, split.records, split.names)
    return {"mAP50": m.map50, "mAP50_95": m.map50_95, "AP_small": m.ap_small}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", type=Path, default=default_checkpoint())
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    times = latencies(args.repeats, args.size)
    base = statistics.median(times["specknet-nano"])
    rows = []
    print(f"| preset | params | GFLOPs @{args.size} | median ms ({args.threads} threads) "
          f"| vs nano |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in PRESETS:
        model = create_model(name)
        ms = statistics.median(times[name])
        row = {"preset": name, "params": count_params(model),
               "gflops": count_gflops(model, (3, args.size, args.size)), "ms": ms}
        rows.append(row)
        print(f"| {name} | {row['params']:,} | {row['gflops']:.3f} | {ms:.2f} "
              f"| {ms / base:.2f}x |")
    result = {"latency": rows}
    if not args.no_accuracy and args.checkpoint.is_file():
        result["shipped"] = accuracy(args.checkpoint)
        print("\nshipped model on its held-out split: "
              + ", ".join(f"{k} {v:.3f}" for k, v in result["shipped"].items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
