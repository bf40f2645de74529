"""Why qemu's ``max`` CPU computes other int8 results than x86 (issue 14): the same .tflite
models on a seeded input, under qemu CPU models and feature toggles, with XNNPACK and with
TFLite's own kernels, compared with x86. Run by ``.ci/arm64/max-cpu.sh`` (root mounted).

Models: the shipped bundles' .tflite files and single-layer int8 probes made here with the
project's exporter (a 3x3 conv, a depthwise 3x3 conv, a 1x1 conv; calibrated on random
tensors: they probe kernels, not accuracy). Each output is compared with the x86 output of
the same resolver: cosine and the largest difference in quantisation steps (int8) or
absolute (fp32).

A CPU spec that qemu rejects (unknown property) is reported as such, not skipped silently.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.arm64.target import CLEAN_ENV

SPECS = ("cortex-a76", "neoverse-n1", "a64fx", "max", "max,sme=off", "max,sve=off,sme=off",
         "max,sve-default-vector-length=16", "max,sme=off,sve-default-vector-length=16",
         "max,sme=off,sve-default-vector-length=32")
RESOLVERS = ("AUTO", "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "BUILTIN_REF")
SHIPPED = ("specknet-nano/specknet-nano_int8.tflite", "specknet-nano/specknet-nano_fp32.tflite",
           "csnet-prior/csnet-prior_int8.tflite", "csnet-prior/csnet-prior_fp32.tflite")


def make_probes(out: Path) -> list[Path]:
    """Single-layer int8 .tflite models from the project's exporter."""
    import torch
    from torch import nn

    from export.tflite import export_tflite

    torch.manual_seed(0)
    layers = {"conv3x3": nn.Conv2d(32, 32, 3, padding=1),
              "dwconv3x3": nn.Conv2d(32, 32, 3, padding=1, groups=32),
              "conv1x1": nn.Conv2d(32, 64, 1)}
    example = (torch.rand(1, 32, 40, 40),)
    calibration = [torch.rand(1, 32, 40, 40) for _ in range(8)]
    paths = []
    for name, layer in layers.items():
        path = out / f"probe_{name}_int8.tflite"
        path.write_bytes(export_tflite(nn.Sequential(layer, nn.ReLU()), example,
                                       precision="int8", calibration=calibration).buffer)
        paths.append(path)
    return paths


def run_kernels(prefix: list[str], script: str, out: str, resolver: str,
                models: list[str]) -> str:
    done = subprocess.run([*prefix, script, out, resolver, *models], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, check=False)
    return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]


def compare(ref_dir: Path, got_dir: Path, stem: str) -> str:
    """'cos=... steps=...' over the outputs of one model, or what went wrong."""
    for d, side in ((got_dir, "board"), (ref_dir, "x86")):
        if (d / f"{stem}.error").exists():
            return f"{side} error: {(d / f'{stem}.error').read_text()[:60]}"
        if not (d / f"{stem}.npz").exists():
            return f"{side}: no output"
    ref, got = np.load(ref_dir / f"{stem}.npz"), np.load(got_dir / f"{stem}.npz")
    cosines, diffs = [], []
    for key in ref.files:
        a, b = ref[key].astype(np.float64).ravel(), got[key].astype(np.float64).ravel()
        norm = np.linalg.norm(a) * np.linalg.norm(b)
        cosines.append(float(a @ b / norm) if norm else float(np.array_equal(a, b)))
        diffs.append(float(np.max(np.abs(a - b))))
    unit = "steps" if ref[ref.files[0]].dtype.kind == "i" else "abs"
    same = "identical" if max(diffs) == 0 else f"cos={min(cosines):.4f} {unit}={max(diffs):.3g}"
    return same


def guest_prefix(args: argparse.Namespace, spec: str) -> list[str]:
    """argv that starts a program in the root under ``spec``: through binfmt_misc's qemu with
    ``QEMU_CPU``, or through ``--qemu`` (another qemu-aarch64 build staged in the root)."""
    env = ["chroot", str(args.root), "/usr/bin/env", "-i", *CLEAN_ENV]
    return [*env, args.qemu, "-cpu", spec] if args.qemu else [*env, f"QEMU_CPU={spec}"]


def isa_check(args: argparse.Namespace, spec: str) -> str:
    """``isa_check``'s verdict on the int8 instructions under ``spec`` (if it was built)."""
    binary = f"{args.guest_dir}/isa_check"
    if not (args.root / binary.lstrip("/")).exists():
        return "not built"
    done = subprocess.run([*guest_prefix(args, spec), binary], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)
    return "; ".join(done.stdout.strip().splitlines()) or f"exit code {done.returncode}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--guest-dir", default="/opt/specks-lane")
    p.add_argument("--x86-venv", type=Path, required=True)
    p.add_argument("--specs", default=";".join(SPECS), help="QEMU_CPU values, ';'-separated")
    p.add_argument("--resolvers", default=",".join(RESOLVERS))
    p.add_argument("--qemu", help="another qemu-aarch64 in the root (path as the root sees it)")
    args = p.parse_args(argv)
    stage = args.root / args.guest_dir.lstrip("/")
    work = stage / "max-cpu"
    work.mkdir(parents=True, exist_ok=True)
    models = [*make_probes(work), *(stage / "bundles" / s for s in SHIPPED)]
    guest_models = [f"{args.guest_dir}/{m.relative_to(stage)}" for m in models]
    resolvers = args.resolvers.split(",")
    x86 = ["env", "-i", *CLEAN_ENV, str(args.x86_venv.resolve() / "bin" / "python")]
    for resolver in resolvers:
        err = run_kernels(x86, str(stage / "kernels.py"), str(work / f"x86-{resolver}"),
                          resolver, [str(m) for m in models])
        if err:
            print(f"x86 {resolver}: {err}")
    qemu = Path(args.qemu).name if args.qemu else "binfmt qemu-aarch64"
    for spec in args.specs.split(";"):
        print(f"== {qemu} -cpu {spec}: {isa_check(args, spec)}", flush=True)
        for resolver in resolvers:
            tag = f"{qemu}-{spec}-{resolver}".replace(",", "_").replace("=", "-").replace(" ", "_")
            err = run_kernels([*guest_prefix(args, spec), f"{args.guest_dir}/venv/bin/python"],
                              f"{args.guest_dir}/kernels.py", f"{args.guest_dir}/max-cpu/{tag}",
                              resolver, guest_models)
            features = work / tag / "features.txt"
            results = err or "; ".join(
                f"{m.stem}: {compare(work / f'x86-{resolver}', work / tag, m.stem)}"
                for m in models)
            print(f"   [{features.read_text() if features.exists() else '?'}] {resolver}: "
                  f"{results}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
