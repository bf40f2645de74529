"""The shipped bundles (``models/zoo/bundles``, rebuilt by its ``build.sh``) verify against the
zoo's public key, load in LiteRT, and reproduce their golden outputs."""

from pathlib import Path

import numpy as np
import pytest

from firmware_py.manifest import CenterNetDecode, SaliencyDecode
from firmware_py.runtimes import load_runner
from firmware_py.verify import load_public_key, verify_bundle

ROOT = Path(__file__).resolve().parents[3]
BUNDLES = ROOT / "models" / "zoo" / "bundles"
ZOO_KEY = ROOT / "board_configs" / "trusted_keys" / "specks-zoo.pub"
DECODE = {"csnet-prior": SaliencyDecode, "specknet-nano": CenterNetDecode}
# int8 is checked on the one golden input (the exporter's gate, over all parity inputs, is in
# the manifest): the detector's size head on an almost empty tile reaches only ~0.89.
MIN_COSINE = {"fp32": 0.9999, "int8": 0.85}


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


@pytest.mark.parametrize("name", sorted(DECODE))
def test_shipped_bundle_verifies_and_matches_its_golden_outputs(name: str) -> None:
    bundle = BUNDLES / name
    manifest = verify_bundle(bundle, [load_public_key(ZOO_KEY)])
    assert isinstance(manifest.decode, DECODE[name])
    assert {(a.format, a.precision) for a in manifest.artifacts} >= {
        ("tflite", "fp32"), ("tflite", "int8")}
    golden_in = np.load(bundle / manifest.golden.input)
    assert golden_in.shape == tuple(manifest.input.shape)
    golden_out = [np.load(bundle / p) for p in manifest.golden.outputs]
    for artifact in manifest.artifacts:
        if artifact.format != "tflite":
            continue
        outputs = load_runner(bundle / artifact.file, "tflite", num_threads=1)(golden_in)
        assert len(outputs) == len(golden_out)
        for got, want in zip(outputs, golden_out, strict=True):
            assert got.shape == want.shape
            assert _cosine(got, want) >= MIN_COSINE[artifact.precision], artifact.file


def test_the_prior_bundle_takes_the_lores_frame() -> None:
    manifest = verify_bundle(BUNDLES / "csnet-prior", [load_public_key(ZOO_KEY)])
    assert tuple(manifest.input.shape) == (1, 3, 192, 320)
    assert manifest.decode.is_logits
