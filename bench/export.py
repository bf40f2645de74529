"""Exported detector: latency, size, parity and accuracy of every artifact against eager PyTorch.

For one checkpoint (default the shipped ``models/zoo/specknet-nano.pt``) the bundle pipeline
(``export.bundle.export_bundle``: calibrate on train tiles, export ``.pte`` and ``.tflite`` in
fp32 and int8, load each in its real runtime, parity vs eager, device-path mAP on a held-out
split) runs into a temporary directory; then every runtime is timed on the same real
1x3x320x320 tile, in the same run, interleaved (one call of each per round, order shuffled
each round), and the median over rounds is reported with the int8/fp32 speed-up per runtime.

Threads: torch ``set_num_threads``, the LiteRT interpreter's ``num_threads``, and ExecuTorch's
process-wide threadpool (which the XNNPACK delegate uses; the runner's ``num_threads``) are
all set to ``--threads`` (default 2). Timed calls are the runtimes' own
execute on inputs already in the artifact's layout and dtype (the int8 TFLite input quantised
once, outside the timing), so only inference is measured.

    .venv/bin/python bench/export.py [--ckpt models/zoo/specknet-nano.pt] \\
        [--data HELDOUT.yaml --split val] [--calib TRAIN.yaml] [--rounds 100] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_py.manifest import Manifest  # noqa: E402
from firmware_py.runtimes import Runner, to_artifact  # noqa: E402
from firmware_py.runtimes.executorch import ExecuTorchRunner  # noqa: E402
from firmware_py.runtimes.litert import LiteRTRunner  # noqa: E402

DEFAULT_CKPT = "models/zoo/specknet-nano.pt"
ROWS = ("eager", "pte_fp32", "pte_int8", "tflite_fp32", "tflite_int8")


def export(args: argparse.Namespace, out: Path) -> tuple[Manifest, torch.nn.Module, list]:
    """Run the bundle pipeline with the device-path evaluator; return the manifest, the eager
    model and the parity tiles."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from export.bundle import export_bundle
    from export.calibration import image_paths, image_tiles
    from export.metrics import DetectionEvaluator
    from firmware_py.manifest import CenterNetDecode, InputSpec
    from models.checkpoint import model_from_checkpoint
    from models.data.yolo import read_yolo

    model, ckpt = model_from_checkpoint(args.ckpt)
    spec = InputSpec(shape=(1, 3, args.size, args.size))
    calibration = image_tiles(image_paths(args.calib, "train"), args.num_calib, spec, seed=0)
    heldout = read_yolo(args.data, args.split)
    parity = image_tiles([r.path for r in heldout.records], args.num_val, spec, seed=1,
                         desc="parity tiles")
    decode = CenterNetDecode(num_classes=len(heldout.names), stride=getattr(model, "stride", 4))
    records = heldout.records[:args.num_eval] if args.num_eval else heldout.records
    evaluator = DetectionEvaluator(records, heldout.names, decode, spec) if args.eval else None
    manifest = export_bundle(
        model, out, name=ckpt["model"], example_input=parity[0], validation=parity,
        private_key=Ed25519PrivateKey.generate(), calibration=calibration, input_spec=spec,
        decode=decode, labels=heldout.names, evaluator=evaluator, allow_parity_failure=True)
    return manifest, model, parity


def _timers(manifest: Manifest, bundle: Path, model: torch.nn.Module, x: torch.Tensor,
            threads: int) -> dict[str, Callable[[], object]]:
    """One zero-argument call per row, each on ``x`` in its artifact's layout and dtype."""
    torch.set_num_threads(threads)
    timers: dict[str, Callable[[], object]] = {}

    def eager() -> object:
        with torch.inference_mode():
            return model(x)

    timers["eager"] = eager
    for artifact in manifest.artifacts:
        path = bundle / artifact.file
        runner: Runner = (ExecuTorchRunner(path, num_threads=threads) if artifact.format == "pte"
                          else LiteRTRunner(path, num_threads=threads))
        native = [to_artifact(x.numpy(), runner.inputs[0])]
        timers[f"{artifact.format}_{artifact.precision}"] = (
            lambda r=runner, n=native: r.run(n))
    return timers


def time_interleaved(timers: dict[str, Callable[[], object]], rounds: int, warmup: int = 5
                     ) -> dict[str, float]:
    """Median milliseconds per call; calls interleaved, order shuffled every round."""
    names = list(timers)
    for _ in range(warmup):
        for name in names:
            timers[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    rng = random.Random(0)
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            start = time.perf_counter()
            timers[name]()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def rows(manifest: Manifest, latency: dict[str, float]) -> list[dict]:
    """One dict per runtime/precision: latency, speed-up, size, parity, accuracy."""
    artifacts = {f"{a.format}_{a.precision}": a for a in manifest.artifacts}
    table = []
    for key in ROWS:
        if key not in latency:
            continue
        row: dict = {"artifact": key, "latency_ms": round(latency[key], 3)}
        fmt, _, precision = key.partition("_")
        if precision == "int8" and f"{fmt}_fp32" in latency:
            row["int8_speedup"] = round(latency[f"{fmt}_fp32"] / latency[key], 3)
        artifact = artifacts.get(key)
        if artifact is not None:
            row["size_kb"] = round(artifact.size / 1024, 1)
            row["min_cosine"] = min(o.cosine for o in artifact.parity.outputs)
            row["max_abs_err"] = {o.name: o.max_abs_error for o in artifact.parity.outputs}
        for metric in ("mAP50", "mAP50-95", "AP_small"):
            value = manifest.metrics.get(f"{key}/{metric}")
            if value is not None:
                row[metric] = value
        drop = manifest.metrics.get(f"{key}/mAP50_drop")
        if drop is not None:
            row["mAP50_drop_pts"] = round(100 * drop, 2)
        table.append(row)
    return table


def markdown(table: list[dict]) -> str:
    columns = ("artifact", "latency_ms", "int8_speedup", "size_kb", "min_cosine",
               "max_abs_err", "mAP50", "mAP50-95", "AP_small", "mAP50_drop_pts")

    def cell(value: object) -> str:
        if value is None:
            return "-"
        if isinstance(value, dict):
            return " ".join(f"{k} {v:.3g}" for k, v in value.items())
        if isinstance(value, float):
            return f"{value:.6f}" if value > 0.999 and value < 1 else f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in table]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", default=DEFAULT_CKPT)
    parser.add_argument("--data", required=True, help="held-out YOLO data.yaml for mAP/parity")
    parser.add_argument("--split", default="val", help="split of --data to evaluate on")
    parser.add_argument("--calib", default=None, help="YOLO data.yaml whose train split "
                        "calibrates int8 (default: --data)")
    parser.add_argument("--num-calib", type=int, default=256, help="calibration tiles")
    parser.add_argument("--num-val", type=int, default=16, help="parity tiles")
    parser.add_argument("--num-eval", type=int, default=0, help="images for mAP (0 = all)")
    parser.add_argument("--no-eval", dest="eval", action="store_false", help="skip mAP")
    parser.add_argument("--size", type=int, default=320, help="tile side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--json", default=None, help="also write the rows as JSON")
    args = parser.parse_args()
    args.calib = args.calib or args.data
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        manifest, model, parity = export(args, bundle)
        timers = _timers(manifest, bundle, model, parity[0], args.threads)
        latency = time_interleaved(timers, args.rounds)
    table = rows(manifest, latency)
    print(f"{manifest.model} ({args.ckpt}), 1x3x{args.size}x{args.size}, {args.threads} "
          f"threads, median of {args.rounds} interleaved rounds; mAP on {args.data} "
          f"[{args.split}]\n")
    print(markdown(table))
    if args.json:
        Path(args.json).write_text(json.dumps({"ckpt": args.ckpt, "threads": args.threads,
                                               "rounds": args.rounds, "rows": table},
                                              indent=2, default=float))


if __name__ == "__main__":
    main()
