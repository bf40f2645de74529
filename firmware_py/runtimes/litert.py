"""LiteRT (TensorFlow Lite) through one signature runner of the interpreter.

The interpreter comes from ``ai_edge_litert.interpreter`` (the maintained LiteRT wheel). On a
board where only the legacy ``tflite_runtime`` wheel exists, it is used instead with a warning:
tflite-runtime 2.14 runs our int8 models 15-30x slower than ai-edge-litert 2.3 (measured on
x86) and needs numpy < 2. Both expose the same ``Interpreter(model_path | model_content,
num_threads)`` API.

``delegates=False`` loads the model with ``OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES``:
no XNNPACK, every node in TFLite's builtin (reference/optimized) kernels, which enforce
TFLite's int8 quantization rules that XNNPACK does not (the exporter's int8 gate uses it; a
board where XNNPACK cannot start runs this way).
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from firmware_py.manifest import TensorSpec
from firmware_py.runtimes import Runner

log = logging.getLogger(__name__)


def interpreter_class() -> type:
    """``ai_edge_litert``'s Interpreter, else ``tflite_runtime``'s with a warning."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as litert_error:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise ImportError("no LiteRT interpreter: pip install ai-edge-litert "
                              f"({litert_error})") from None
        log.warning("ai-edge-litert is not installed; using the legacy tflite_runtime, which "
                    "runs int8 models 15-30x slower (pip install ai-edge-litert)")
    return Interpreter


def _without_delegates(interpreter: type) -> dict[str, Any]:
    """The keyword that makes ``interpreter`` (either wheel's) skip its default delegates."""
    resolver = sys.modules[interpreter.__module__].OpResolverType
    return {"experimental_op_resolver_type": resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES}


def _index(key: str) -> int:
    match = re.search(r"(\d+)$", key)
    return int(match.group(1)) if match else 0


class LiteRTRunner(Runner):
    """A ``.tflite`` model's ``signature`` runner, with ``num_threads`` interpreter threads;
    ``delegates=False`` runs it without XNNPACK (builtin kernels only)."""

    runtime = "litert"

    def __init__(self, artifact: bytes | str | Path, signature: str = "serving_default",
                 num_threads: int | None = None, delegates: bool = True) -> None:
        interpreter = interpreter_class()
        kwargs: dict[str, Any] = {"num_threads": num_threads} if num_threads else {}
        if not delegates:
            kwargs.update(_without_delegates(interpreter))
        if isinstance(artifact, bytes):
            self._interpreter = interpreter(model_content=artifact, **kwargs)
        else:
            self._interpreter = interpreter(model_path=str(artifact), **kwargs)
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
