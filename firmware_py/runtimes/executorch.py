"""The ExecuTorch runtime (``executorch.runtime``): Runtime -> Program -> Method ``forward``.

Importing this module does not import torch; creating a runner does, because the ExecuTorch
Python runtime links libtorch and exchanges ``torch.Tensor``s. Threads: XNNPACK's threadpool
is sized by the runtime itself (all cores); the Python API exposes no per-program setting, so
the board's ``threads`` applies to LiteRT only (a documented limitation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_py.manifest import TensorSpec
from firmware_py.runtimes import Runner

# c10::ScalarType codes reported by ExecuTorch's TensorInfo.dtype()
_ET_DTYPES = {0: "uint8", 1: "int8", 3: "int32", 6: "float32"}


class ExecuTorchRunner(Runner):
    """One ``.pte`` program with its ``method`` loaded once."""

    runtime = "executorch"

    def __init__(self, artifact: bytes | str | Path, method: str = "forward") -> None:
        import torch
        from executorch.runtime import Runtime

        self._torch = torch
        # NOTE: the program owns the buffer the method runs from; keep it alive with the method.
        self._program = Runtime.get().load_program(artifact)
        self._method = self._program.load_method(method)
        meta = self._program.metadata(method)
        self.inputs = [self._spec(f"input_{i}", meta.input_tensor_meta(i))
                       for i in range(meta.num_inputs())]
        self.outputs = [self._spec(f"output_{i}", meta.output_tensor_meta(i))
                        for i in range(meta.num_outputs())]

    @staticmethod
    def _spec(name: str, info) -> TensorSpec:
        shape = tuple(info.sizes())
        return TensorSpec(name=name, shape=shape, layout="NCHW" if len(shape) == 4 else "other",
                          dtype=_ET_DTYPES[info.dtype()])

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        outputs = self._method.execute([self._torch.from_numpy(np.ascontiguousarray(x))
                                        for x in inputs])
        return [o.numpy() for o in outputs]
