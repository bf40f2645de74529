"""The device tests' checked-in bundle (``tests/data/device-bundle``) is what today's exporter
writes: rebuild it with ``.venv/bin/python -m tests.data.make_device_bundle`` when this fails."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from tests.bundles import make_bundle
from tests.data.make_device_bundle import BUNDLE, KEYS

VOLATILE = ("created", "export_seconds", "exporters")
# eager PyTorch and OpenCV round the last bits differently on different x86 CPUs (an AMD EPYC
# built the checked-in bundle; an Intel Xeon's export differs by <= 1e-6 in the parity and
# agreement figures and in the golden arrays, and is otherwise identical, .tflite included)
TOLERANCE = 1e-5


def _stable(manifest: dict) -> dict:
    """The manifest without what differs between two identical exports; the golden files'
    hashes go too (their arrays are compared by value)."""
    if isinstance(manifest, dict):
        return {k: _stable(v) for k, v in manifest.items()
                if k not in VOLATILE and not k.startswith("golden/")}
    if isinstance(manifest, list):
        return [_stable(v) for v in manifest]
    return manifest


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE)
    return a == b


def test_the_checked_in_device_bundle_is_current(tmp_path: Path) -> None:
    fresh, _, _ = make_bundle(tmp_path / "bundle", KEYS)
    checked_in = json.loads((BUNDLE / "manifest.json").read_text())
    stale = ("tests/data/device-bundle is stale: "
             "run .venv/bin/python -m tests.data.make_device_bundle")
    assert _close(_stable(checked_in), _stable(fresh.model_dump(mode="json"))), stale
    golden = [checked_in["golden"]["input"], *checked_in["golden"]["outputs"]]
    assert golden == [fresh.golden.input, *fresh.golden.outputs], stale
    for rel in golden:
        np.testing.assert_allclose(np.load(BUNDLE / rel), np.load(tmp_path / "bundle" / rel),
                                   rtol=0, atol=TOLERANCE, err_msg=stale)
