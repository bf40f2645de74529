"""Run an exported artifact in its real runtime: the ExecuTorch runtime for ``.pte``, the LiteRT
interpreter for ``.tflite``. Each runner is created once (program / interpreter loaded in the
constructor) and describes its tensors as manifest ``TensorSpec``s read from the artifact.

``runner.run`` takes and returns tensors in the artifact's own layout and dtype; calling the
runner takes a float32 NCHW array (what PyTorch sees) and returns float32 arrays in the
PyTorch layout, converting with ``to_artifact``/``from_artifact`` -- the same conversions a
device does from the manifest. Rank-4 TFLite tensors are NHWC (``export.tflite``'s wrapping).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Literal

import numpy as np

from firmware_py.manifest import TensorSpec

# c10::ScalarType codes reported by ExecuTorch's TensorInfo.dtype()
_ET_DTYPES = {0: "uint8", 1: "int8", 3: "int32", 6: "float32"}
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

    runtime: Literal["executorch", "litert"]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]

    @abstractmethod
    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Execute on arrays in the artifact's layout/dtype; outputs in the model's order."""

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        native = self.run([to_artifact(x, self.inputs[0])])
        return [from_artifact(y, spec) for y, spec in zip(native, self.outputs, strict=True)]


class ExecuTorchRunner(Runner):
    """``executorch.runtime``: Runtime -> Program -> Method ``forward``."""

    runtime = "executorch"

    def __init__(self, artifact: bytes | str | Path, method: str = "forward") -> None:
        from executorch.runtime import Runtime

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
        import torch

        outputs = self._method.execute([torch.from_numpy(np.ascontiguousarray(x))
                                        for x in inputs])
        return [o.numpy() for o in outputs]


def _index(key: str) -> int:
    match = re.search(r"(\d+)$", key)
    return int(match.group(1)) if match else 0


class LiteRTRunner(Runner):
    """``ai_edge_litert.interpreter.Interpreter`` through one signature runner."""

    runtime = "litert"

    def __init__(self, artifact: bytes | str | Path, signature: str = "serving_default",
                 num_threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        kwargs = {"num_threads": num_threads} if num_threads else {}
        if isinstance(artifact, bytes):
            self._interpreter = Interpreter(model_content=artifact, **kwargs)
        else:
            self._interpreter = Interpreter(model_path=str(artifact), **kwargs)
        self._runner = self._interpreter.get_signature_runner(signature)
        self.signature = signature
        in_details = self._runner.get_input_details()
        out_details = self._runner.get_output_details()
        self._input_keys = sorted(in_details, key=_index)
        self._output_keys = sorted(out_details, key=_index)
        self.inputs = [self._spec(k, in_details[k]) for k in self._input_keys]
        self.outputs = [self._spec(k, out_details[k]) for k in self._output_keys]

    @staticmethod
    def _spec(name: str, detail: dict) -> TensorSpec:
        shape = tuple(int(s) for s in detail["shape"])
        dtype = np.dtype(detail["dtype"]).name
        scale, zero_point = detail["quantization"]
        quantized = dtype in ("int8", "uint8") and scale > 0
        return TensorSpec(name=name, shape=shape, layout="NHWC" if len(shape) == 4 else "other",
                          dtype=dtype, quant_scale=float(scale) if quantized else None,
                          quant_zero_point=int(zero_point) if quantized else None)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        result = self._runner(**dict(zip(self._input_keys, inputs, strict=True)))
        return [np.asarray(result[k]) for k in self._output_keys]


def load_runner(artifact: bytes | str | Path, fmt: Literal["pte", "tflite"]) -> Runner:
    """Load ``artifact`` (bytes or a path) in the runtime for ``fmt``."""
    if fmt == "pte":
        return ExecuTorchRunner(artifact)
    if fmt == "tflite":
        return LiteRTRunner(artifact)
    raise ValueError(f"unknown artifact format {fmt!r}")
