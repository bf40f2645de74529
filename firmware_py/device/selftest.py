"""The device self-test: load the artifact the board would run in its real runtime, feed it
the golden input recorded at export and compare with the golden (eager PyTorch) outputs.

The golden files are float32 NCHW ``.npy`` (``firmware_py.manifest.Golden``); the runner
converts to and from the artifact's layout and dtype. An output passes when its cosine
similarity to the golden one reaches the precision's floor and its largest absolute error
stays within a fraction of the golden output's range. The cosine floors are the exporter's
parity thresholds (``export.parity``: 0.9999 fp32, 0.98 int8), so a bundle that passed parity
on the host passes here unless the device's runtime computes something else. Choice, where
the exporter is silent on absolute error: fp32 within 1e-3 of the range, int8 within 0.25
(a few quantisation steps of a 256-level scale accumulate through the net).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_py.board import BoardConfig
from firmware_py.device import DeviceError
from firmware_py.device.compat import select_artifact
from firmware_py.device.slots import read_manifest
from firmware_py.runtimes import load_runner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tolerance:
    min_cosine: float
    max_abs_fraction: float


TOLERANCES = {"fp32": Tolerance(0.9999, 1e-3), "int8": Tolerance(0.98, 0.25)}


class SelftestError(DeviceError):
    """The self-test could not run or did not pass."""


@dataclass(frozen=True)
class OutputCheck:
    name: str
    cosine: float
    max_abs_error: float
    allowed_abs_error: float
    passed: bool


@dataclass(frozen=True)
class SelftestResult:
    artifact: str
    runtime: str
    precision: str
    outputs: tuple[OutputCheck, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs)

    def summary(self) -> str:
        checks = ", ".join(f"{o.name} cos={o.cosine:.5f} max|d|={o.max_abs_error:.3g}"
                           f"{'' if o.passed else ' FAIL'}" for o in self.outputs)
        return f"{self.artifact} ({self.runtime}, {self.precision}): {checks}"


def _load(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise SelftestError(f"{path}: unreadable golden file ({error})") from None


def _check(name: str, got: np.ndarray, want: np.ndarray, tol: Tolerance,
           min_cosine: float) -> OutputCheck:
    if got.shape != want.shape:
        raise SelftestError(f"output {name}: shape {got.shape} differs from golden {want.shape}")
    a, b = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    cosine = float(a @ b / norm) if norm > 0 else float(np.array_equal(a, b))
    max_abs = float(np.max(np.abs(a - b)))
    allowed = tol.max_abs_fraction * max(float(np.ptp(b)), 1e-6)
    return OutputCheck(name, cosine, max_abs, allowed, cosine >= min_cosine and max_abs <= allowed)


def selftest(bundle: str | Path, board: BoardConfig, runtimes: tuple[str, ...] | None = None,
             min_cosine: float | None = None) -> SelftestResult:
    """Run the golden input through the artifact ``board`` would run; compare every output."""
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    if manifest.golden is None:
        raise SelftestError(f"{bundle}: the manifest records no golden input/outputs, so the "
                            "self-test cannot run; re-export the bundle")
    artifact = select_artifact(manifest, board, runtimes)
    tol = TOLERANCES[artifact.precision]
    start = time.perf_counter()
    try:
        runner = load_runner(bundle / artifact.file, artifact.format, board.runtime.threads)
        outputs = runner(_load(bundle / manifest.golden.input).astype(np.float32))
    except SelftestError:
        raise
    except Exception as error:  # a runtime that cannot load or run the artifact
        raise SelftestError(f"{artifact.file}: {artifact.runtime} could not run it: "
                            f"{type(error).__name__}: {error}") from None
    golden = [_load(bundle / rel) for rel in manifest.golden.outputs]
    if not len(outputs) == len(golden) == len(manifest.output_names):
        raise SelftestError(f"{artifact.file}: {len(outputs)} outputs, golden has "
                            f"{len(golden)}, the manifest names {len(manifest.output_names)}")
    checks = tuple(_check(name, got, want, tol, min_cosine or tol.min_cosine)
                   for name, got, want in zip(manifest.output_names, outputs, golden,
                                              strict=True))
    result = SelftestResult(artifact.file, artifact.runtime, artifact.precision, checks,
                            time.perf_counter() - start)
    log.info("selftest %s", result.summary())
    return result
