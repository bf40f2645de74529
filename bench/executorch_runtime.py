"""ExecuTorch on a board: the torch-free runner (``firmware_py.runtimes.executorch``, ExecuTorch's
C++ runtime through the compiled shim) against ExecuTorch's Python runtime
(``executorch.runtime``, which links libtorch), side by side in one run.

For each ``.pte`` (default: the shipped specknet-nano int8 and fp32):

1. latency: both runtimes loaded in one process, on the same real tile (a synthetic scene of
   ``models.data.synth``), calls interleaved with the order shuffled every round
   (``bench.export.time_interleaved``); the median ms per call and the ratio. Both run on
   ExecuTorch's one process-wide threadpool (the same ``libexecutorch_threadpool.so``), sized
   to ``--threads`` by the runner. Their outputs are compared too (expected: identical).
2. memory: each runtime alone in a fresh interpreter that loads the program and runs
   ``--calls`` calls: resident set size (``VmRSS``) and its peak (``VmHWM``) from
   ``/proc/self/status``, and whether libtorch is mapped; a process that imports numpy only is
   the baseline.

It prints the CPU model and ``ldd`` of the built shim (to show no libtorch).

    .venv/bin/python bench/executorch_runtime.py [--pte A.pte B.pte] [--threads 2] [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUNDLE = ROOT / "models/zoo/bundles/specknet-nano"
DEFAULT_PTE = [BUNDLE / "specknet-nano_int8.pte", BUNDLE / "specknet-nano_fp32.pte"]


def cpu_model() -> str:
    """The CPU's name from /proc/cpuinfo (x86 ``model name``; arm ``Model``/``CPU part``)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    name = next((fields[k] for k in ("model name", "Model", "CPU part") if k in fields), "?")
    return f"{name} ({os.cpu_count()} cores)"


def tile(shape: tuple[int, ...]) -> np.ndarray:
    """A real float32 NCHW input in [0, 1]: one synthetic scene of the input's size."""
    from models.data.synth import SynthConfig, synth_image

    _, _, h, w = shape
    image = synth_image(SynthConfig(width=w, height=h, background_prob=0.0), [11, 0]).image
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None] / 255.0, dtype=np.float32)


class PythonRuntime:
    """``executorch.runtime``'s ``forward`` of ``pte`` as a numpy -> numpy call."""

    def __init__(self, pte: str | Path) -> None:
        import torch
        from executorch.runtime import Runtime

        self._from_numpy = torch.from_numpy
        self.program = Runtime.get().load_program(pte)  # outlives the method that runs from it
        self.method = self.program.load_method("forward")
        self.input_shape = tuple(self.program.metadata("forward").input_tensor_meta(0).sizes())

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        return [y.numpy() for y in self.method.execute([self._from_numpy(x)])]


def latency(pte: Path, threads: int, rounds: int) -> dict:
    """Median ms per call of both runtimes in this process, interleaved; outputs compared."""
    from bench.export import time_interleaved
    from firmware_py.runtimes.executorch import ExecuTorchRunner, thread_count

    shim = ExecuTorchRunner(pte, num_threads=threads)  # sizes the shared pool first
    python = PythonRuntime(pte)
    x = tile(shim.inputs[0].shape)
    same = all(np.array_equal(a, b) for a, b in zip(shim.run([x]), python(x), strict=True))
    ms = time_interleaved({"shim": lambda: shim.run([x]), "python": lambda: python(x)}, rounds)
    return {**ms, "identical_outputs": same, "threads": thread_count()}


WORKER = """
import json, sys, time
import numpy as np
runtime, pte, threads, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if runtime == "shim":
    from firmware_py.runtimes.executorch import ExecuTorchRunner
    runner = ExecuTorchRunner(pte, num_threads=threads)
    x = np.zeros(runner.inputs[0].shape, np.float32)
    call = lambda: runner.run([x])
elif runtime == "python":
    from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool
    _unsafe_reset_threadpool(threads)
    from bench.executorch_runtime import PythonRuntime
    method = PythonRuntime(pte)
    x = np.zeros(method.input_shape, np.float32)
    call = lambda: method(x)
else:
    call = lambda: None
for _ in range(calls):
    call()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
maps = open("/proc/self/maps").read()
print(json.dumps({"rss_mb": int(status["VmRSS"].split()[0]) / 1024,
                  "peak_mb": int(status["VmHWM"].split()[0]) / 1024,
                  "libtorch": "libtorch" in maps, "torch": "torch" in sys.modules}))
"""


def memory(runtime: str, pte: Path, threads: int, calls: int) -> dict:
    """RSS of a fresh interpreter running ``runtime`` alone (``numpy``: the baseline)."""
    done = subprocess.run([sys.executable, "-c", WORKER, runtime, str(pte), str(threads),
                           str(calls)], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pte", nargs="+", type=Path, default=DEFAULT_PTE)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--calls", type=int, default=20, help="calls before reading RSS")
    args = parser.parse_args()

    from firmware_py.runtimes.executorch_build import shim_library

    library = shim_library()
    print(f"CPU: {cpu_model()}; {args.threads} threads; median of {args.rounds} interleaved "
          "rounds; RSS after loading and running the program alone in a fresh process\n")
    base = memory("numpy", args.pte[0], args.threads, 0)
    print(f"baseline (python + numpy): RSS {base['rss_mb']:.1f} MB\n")
    print("| program | shim ms | python runtime ms | python / shim | identical | "
          "shim RSS MB (peak) | python RSS MB (peak) | libtorch mapped (shim / python) |")
    print("|---|---|---|---|---|---|---|---|")
    for pte in args.pte:
        ms = latency(pte, args.threads, args.rounds)
        mem = {r: memory(r, pte, args.threads, args.calls) for r in ("shim", "python")}
        print(f"| {pte.name} | {ms['shim']:.3f} | {ms['python']:.3f} | "
              f"{ms['python'] / ms['shim']:.2f}x | {'yes' if ms['identical_outputs'] else 'NO'} "
              f"| {mem['shim']['rss_mb']:.1f} ({mem['shim']['peak_mb']:.1f}) | "
              f"{mem['python']['rss_mb']:.1f} ({mem['python']['peak_mb']:.1f}) | "
              f"{'yes' if mem['shim']['libtorch'] else 'no'} / "
              f"{'yes' if mem['python']['libtorch'] else 'no'} |")
    print(f"\nldd {library}:")
    print(subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout)


if __name__ == "__main__":
    main()
