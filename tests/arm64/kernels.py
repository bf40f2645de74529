"""Run .tflite models once on a seeded input and save the raw outputs, for comparing the
kernels one CPU runs with another's (``tests/arm64/max_cpu.py``).

    python kernels.py OUT_DIR RESOLVER MODEL.tflite...

``RESOLVER`` is a LiteRT ``OpResolverType`` name: ``AUTO`` (the default: XNNPACK takes the
nodes it supports), ``BUILTIN_WITHOUT_DEFAULT_DELEGATES`` (TFLite's optimized kernels, no
XNNPACK) or ``BUILTIN_REF`` (TFLite's reference kernels). The input is uniform in the input
tensor's range, seed 0, so every CPU sees the same bytes. A model that fails to load or run
writes ``<name>.error`` instead; ``features.txt`` lists the CPU features the process was given
(``probe.py``, staged beside this file). numpy and ai-edge-litert only: it runs in the root.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from probe import cpu_features


def seeded_input(detail: dict) -> np.ndarray:
    rng = np.random.default_rng(0)
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, detail["shape"], dtype=dtype, endpoint=True)
    return rng.uniform(0.0, 1.0, detail["shape"]).astype(dtype)


def run(model: Path, resolver: str) -> list[np.ndarray]:
    interpreter = Interpreter(model_path=str(model), num_threads=1,
                              experimental_op_resolver_type=OpResolverType[resolver])
    runner = interpreter.get_signature_runner()
    inputs = {name: seeded_input(d) for name, d in runner.get_input_details().items()}
    outputs = runner(**inputs)
    return [np.asarray(outputs[k]) for k in sorted(outputs)]


def main(argv: list[str]) -> int:
    out, resolver, models = Path(argv[0]), argv[1], [Path(m) for m in argv[2:]]
    out.mkdir(parents=True, exist_ok=True)
    (out / "features.txt").write_text(" ".join(cpu_features()))
    for model in models:
        try:
            np.savez(out / f"{model.stem}.npz", *run(model, resolver))
        except Exception as error:  # a kernel that refuses the graph is a finding, not a crash
            (out / f"{model.stem}.error").write_text(f"{type(error).__name__}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
