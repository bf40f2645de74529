"""Model runtimes on the device: LiteRT for ``.tflite`` (:mod:`.litert`) and the ExecuTorch
runtime for ``.pte`` (:mod:`.executorch`). The host exporter runs its parity checks through
the same runners, so host and device agree on what an artifact computes.

Each runner is created once (program / interpreter loaded in the constructor) and describes
its tensors as manifest ``TensorSpec``s read from the artifact. ``runner.run`` takes and
returns tensors in the artifact's own layout and dtype; calling the runner takes a float32
NCHW array (what PyTorch sees) and returns float32 arrays in the PyTorch layout, converting
with :func:`to_artifact` / :func:`from_artifact`, the conversions the manifest describes.
Rank-4 TFLite tensors are NHWC (``export.tflite``'s wrapping).

Runtime modules are imported only when a runner of theirs is created: a LiteRT-only device
never loads ExecuTorch's libraries (nor builds its runner), and an ExecuTorch-only one never
loads LiteRT. Neither runner imports torch: ``.pte`` programs run in ExecuTorch's C++ runtime
through a small compiled shim (:mod:`.executorch`), not its Python runtime, which links
libtorch. ``num_threads`` is the board's ``runtime.threads`` for both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Literal

import numpy as np

from firmware_py.manifest import TensorSpec

Runtime = Literal["executorch", "litert"]
_INT8 = (-128, 127)


def to_artifact(x: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """A float32 NCHW array -> the artifact's layout and dtype (quantized if int8)."""
    if spec.layout == "NHWC":
        x = x.transpose(0, 2, 3, 1)  # (N, H, W, C)
    if spec.dtype == "int8":
        q = np.round(x / spec.quant_scale) + spec.quant_zero_point
        return np.clip(q, *_INT8).astype(np.int8)
    return np.ascontiguousarray(x, dtype=np.float32)


def from_artifact(y: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """An artifact output -> float32 in the PyTorch layout (dequantized if int8)."""
    if spec.dtype == "int8":
        y = (y.astype(np.float32) - spec.quant_zero_point) * spec.quant_scale
    if spec.layout == "NHWC":
        y = y.transpose(0, 3, 1, 2)  # (N, C, H, W)
    return np.ascontiguousarray(y, dtype=np.float32)


class Runner(ABC):
    """One loaded artifact; ``inputs``/``outputs`` describe its tensors."""

    runtime: Runtime
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]

    @abstractmethod
    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Execute on arrays in the artifact's layout/dtype; outputs in the model's order."""

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        native = self.run([to_artifact(x, self.inputs[0])])
        return [from_artifact(y, spec) for y, spec in zip(native, self.outputs, strict=True)]


def load_runner(artifact: bytes | str | Path, fmt: Literal["pte", "tflite"],
                num_threads: int | None = None) -> Runner:
    """Load ``artifact`` (bytes or a path) in the runtime for ``fmt``."""
    if fmt == "pte":
        from firmware_py.runtimes.executorch import ExecuTorchRunner

        return ExecuTorchRunner(artifact, num_threads=num_threads)
    if fmt == "tflite":
        from firmware_py.runtimes.litert import LiteRTRunner

        return LiteRTRunner(artifact, num_threads=num_threads)
    raise ValueError(f"unknown artifact format {fmt!r}")
