"""The device self-test: "this board computes this model correctly". Load the artifact the
board would run in its real runtime, feed it the golden input recorded at export (a tile with
objects) and compare its outputs with the golden eager outputs on what the device acts on
(:mod:`firmware_py.agreement`: decoded boxes, scores and classes for a detector, the
probability map for a saliency prior), holding each metric to the tolerance the exporter
measured for this artifact over its parity tiles (``Artifact.agreement``).

A bundle of manifest schema 1 records no tolerances and cannot be self-tested: re-export it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_py.agreement import Check, check, measure
from firmware_py.board import BoardConfig
from firmware_py.device import DeviceError
from firmware_py.device.compat import check_compatible
from firmware_py.device.slots import read_manifest
from firmware_py.runtimes import load_runner

log = logging.getLogger(__name__)


class SelftestError(DeviceError):
    """The self-test could not run or did not pass."""


@dataclass(frozen=True)
class SelftestResult:
    artifact: str
    runtime: str
    precision: str
    checks: tuple[Check, ...]
    detections: int  # golden detections above the deployed threshold (a detector), else 0
    seconds: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def summary(self) -> str:
        parts = [str(c) for c in self.checks]
        failed = [c.metric for c in self.checks if not c.passed]
        verdict = f"FAIL ({', '.join(failed)})" if failed else "ok"
        found = f", {self.detections} golden detections" if self.detections else ""
        return (f"{self.artifact} ({self.runtime}, {self.precision}): {', '.join(parts)}"
                f"{found}: {verdict}")

    def as_dict(self) -> dict:
        return {"artifact": self.artifact, "runtime": self.runtime,
                "precision": self.precision, "passed": self.passed,
                "detections": self.detections, "seconds": round(self.seconds, 3),
                "checks": [{"metric": c.metric, "value": c.value, "tolerance": c.tolerance,
                            "margin": c.margin, "passed": c.passed} for c in self.checks]}


def _load(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise SelftestError(f"{path}: unreadable golden file ({error})") from None


def selftest(bundle: str | Path, board: BoardConfig,
             runtimes: tuple[str, ...] | None = None) -> SelftestResult:
    """Run the golden input through the artifact ``board`` would run; check its agreement."""
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    if manifest.golden is None:
        raise SelftestError(f"{bundle}: the manifest records no golden input/outputs, so the "
                            "self-test cannot run; re-export the bundle")
    artifact = check_compatible(manifest, board, runtimes)
    if artifact.agreement is None:
        raise SelftestError(f"{bundle}: {artifact.file} has no agreement tolerances (manifest "
                            f"schema {manifest.schema_version}); re-export the bundle")
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
    try:
        tile = measure(golden, outputs, manifest.output_names, manifest.decode)
    except ValueError as error:
        raise SelftestError(f"{artifact.file}: {error}") from None
    checks = check(tile, artifact.agreement.tolerance, manifest.decode)
    found = tile.matching.golden_count if tile.matching else 0
    result = SelftestResult(artifact.file, artifact.runtime, artifact.precision,
                            tuple(checks), found, time.perf_counter() - start)
    log.info("selftest %s", result.summary())
    return result
