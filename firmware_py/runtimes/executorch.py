"""The ExecuTorch runtime for ``.pte`` programs, without torch: ExecuTorch's C++ runtime
(Program -> Method ``forward``, the XNNPACK delegate) behind a small C ABI
(``executorch_shim.cpp``) called through ctypes with numpy arrays.

ExecuTorch's Python runtime (``executorch.runtime``) links libtorch and exchanges
``torch.Tensor``s, so a board would need torch (~750 MB) to run a ``.pte``; the shim links only
the wheel's ``libexecutorch*.so``, which do not. It is compiled on first use
(:mod:`.executorch_build`: ``pip install --no-deps executorch==1.5.1`` and ``g++`` on the board)
and cached. The host exporter checks parity through this same runner, so host and device run
the same code.

Threads: the XNNPACK delegate runs on ExecuTorch's process-wide threadpool (by default one
thread per core cpuinfo counts). ``num_threads`` resizes it before the program's method is
loaded, which the shim does only while no other program of it is loaded (a loaded method
holds the pool): a second runner asking for another count gets the pool as it is, with a
warning. ExecuTorch's Python runtime, if loaded in the same process, shares the pool.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import weakref
from pathlib import Path

import numpy as np

from firmware_py.manifest import TensorSpec
from firmware_py.runtimes import Runner
from firmware_py.runtimes.executorch_build import shim_library

log = logging.getLogger(__name__)

# c10::ScalarType codes (executorch/runtime/core/portable_type/scalar_type.h)
_DTYPES = {0: "uint8", 1: "int8", 3: "int32", 6: "float32"}
_P = ctypes.c_void_p
_SIZE = ctypes.c_size_t
_SIGNATURES = {  # name: (restype, argtypes)
    "specks_et_error": (ctypes.c_char_p, []),
    "specks_et_load_file": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint32,
                                           ctypes.POINTER(_P)]),
    "specks_et_load_bytes": (ctypes.c_int, [ctypes.c_char_p, _SIZE, ctypes.c_char_p,
                                            ctypes.c_uint32, ctypes.POINTER(_P)]),
    "specks_et_free": (None, [_P]),
    "specks_et_threads": (_SIZE, []),
    "specks_et_count": (_SIZE, [_P, ctypes.c_int]),
    "specks_et_info": (ctypes.c_int, [_P, ctypes.c_int, _SIZE, ctypes.POINTER(ctypes.c_int32),
                                      ctypes.POINTER(_SIZE), ctypes.POINTER(_SIZE)]),
    "specks_et_sizes": (ctypes.c_int, [_P, ctypes.c_int, _SIZE, ctypes.POINTER(ctypes.c_int64)]),
    "specks_et_run": (ctypes.c_int, [_P, ctypes.POINTER(_P), ctypes.POINTER(_P)]),
}


class ExecuTorchError(RuntimeError):
    """A ``.pte`` program that the ExecuTorch runtime cannot load or run."""


@functools.cache
def shim() -> ctypes.CDLL:
    """The shim library (built on first use), its functions typed."""
    lib = ctypes.CDLL(str(shim_library()))
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


def thread_count() -> int:
    """Threads of ExecuTorch's shared threadpool (the XNNPACK delegate's)."""
    return int(shim().specks_et_threads())


class ExecuTorchRunner(Runner):
    """One ``.pte`` program with its ``method`` loaded once."""

    runtime = "executorch"

    def __init__(self, artifact: bytes | str | Path, method: str = "forward",
                 num_threads: int | None = None) -> None:
        lib = shim()
        handle = _P()
        threads = ctypes.c_uint32(num_threads or 0)
        if isinstance(artifact, bytes | bytearray | memoryview):
            data, self.source = bytes(artifact), f"<{len(artifact)} bytes>"
            status = lib.specks_et_load_bytes(data, len(data), method.encode(), threads,
                                              ctypes.byref(handle))
        else:
            self.source = str(artifact)
            status = lib.specks_et_load_file(os.fsencode(artifact), method.encode(), threads,
                                             ctypes.byref(handle))
        if status != 0:
            raise ExecuTorchError(f"{self.source}: {lib.specks_et_error().decode()}")
        self._lib, self._handle = lib, handle
        self._free = weakref.finalize(self, lib.specks_et_free, handle)
        self.inputs = [self._spec(True, i) for i in range(lib.specks_et_count(handle, 1))]
        self.outputs = [self._spec(False, i) for i in range(lib.specks_et_count(handle, 0))]
        self.threads = thread_count()
        if num_threads and self.threads != num_threads:
            log.warning("%s: ExecuTorch's threadpool already runs %d threads for a loaded "
                        "program; %d asked for", self.source, self.threads, num_threads)

    def _check(self, status: int) -> None:
        if status != 0:
            raise ExecuTorchError(f"{self.source}: {self._lib.specks_et_error().decode()}")

    def _spec(self, is_input: bool, index: int) -> TensorSpec:
        dtype, rank, nbytes = ctypes.c_int32(), _SIZE(), _SIZE()
        self._check(self._lib.specks_et_info(self._handle, int(is_input), index,
                                             ctypes.byref(dtype), ctypes.byref(rank),
                                             ctypes.byref(nbytes)))
        sizes = (ctypes.c_int64 * rank.value)()
        self._check(self._lib.specks_et_sizes(self._handle, int(is_input), index, sizes))
        kind = "input" if is_input else "output"
        if dtype.value not in _DTYPES:
            raise ExecuTorchError(f"{self.source}: {kind} {index} has ScalarType {dtype.value}, "
                                  f"not one of {sorted(_DTYPES.values())}")
        shape = tuple(sizes)
        return TensorSpec(name=f"{kind}_{index}", shape=shape,
                          layout="NCHW" if len(shape) == 4 else "other",
                          dtype=_DTYPES[dtype.value])

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) != len(self.inputs):
            raise ValueError(f"{self.source}: {len(inputs)} inputs, the program takes "
                             f"{len(self.inputs)}")
        arrays = [np.ascontiguousarray(x) for x in inputs]
        for x, spec in zip(arrays, self.inputs, strict=True):
            if x.shape != spec.shape or x.dtype != spec.dtype:
                raise ValueError(f"{self.source}: {spec.name} is {x.dtype}{list(x.shape)}, the "
                                 f"program takes {spec.dtype}{list(spec.shape)}")
        outputs = [np.empty(spec.shape, spec.dtype) for spec in self.outputs]
        self._check(self._lib.specks_et_run(
            self._handle, (_P * len(arrays))(*(x.ctypes.data for x in arrays)),
            (_P * len(outputs))(*(y.ctypes.data for y in outputs))))
        return outputs
