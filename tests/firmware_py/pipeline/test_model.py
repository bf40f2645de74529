"""BundleModel: verification before loading, artifact choice, and a preprocessing table that
matches the manifest's normalisation and the runtime's own quantisation."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from firmware_py.device.compat import artifact_order
from firmware_py.manifest import InputSpec, TensorSpec
from firmware_py.pipeline.model import BundleModel, input_table
from firmware_py.runtimes import to_artifact
from firmware_py.verify import BundleError, load_public_key

from .conftest import scene


def test_prepared_tile_equals_normalise_then_convert(model: BundleModel) -> None:
    tile = scene(1, 32, 32)
    x = tile.astype(np.float32).transpose(2, 0, 1)[None] / 255.0  # (1, 3, H, W)
    expected = to_artifact(x, model.runner.inputs[0])
    np.testing.assert_allclose(model.prepare(tile), expected, atol=1e-6)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_int8_table_matches_quantising_the_normalised_tile(layout: str) -> None:
    spec = InputSpec(shape=(1, 3, 4, 4), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    tensor = TensorSpec(name="x", shape=(1, 3, 4, 4), layout=layout, dtype="int8",
                        quant_scale=0.0187, quant_zero_point=-14)
    table = input_table(spec, tensor)
    values = np.arange(256, dtype=np.float32)
    for c in range(3):
        real = ((values / 255.0 - spec.mean[c]) / spec.std[c]).reshape(1, 1, 1, 256)
        flat = to_artifact(real.astype(np.float32), tensor.model_copy(update={"layout": "NCHW"}))
        np.testing.assert_array_equal(table[c], flat.ravel())


def test_raw_outputs_equal_the_runner_on_the_normalised_tile(model: BundleModel) -> None:
    tile = scene(2, 32, 32)
    x = tile.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    for got, want in zip(model.raw(tile), model.runner(x), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_artifact_order_prefers_runtime_then_precision(model: BundleModel) -> None:
    a = model.manifest.artifacts[0]
    variants = [a.model_copy(update={"runtime": r, "precision": p, "file": f"{r}_{p}"})
                for r in ("executorch", "litert") for p in ("fp32", "int8")]
    order = [x.file for x in artifact_order(variants, "litert", "int8")]
    assert order == ["litert_int8", "litert_fp32", "executorch_int8", "executorch_fp32"]


def test_a_tampered_bundle_is_refused_before_loading(device_bundle, tmp_path) -> None:
    bundle, _, public = device_bundle
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    artifact = next(copy.glob("*.tflite"))
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 mismatch"):
        BundleModel(copy, [load_public_key(public)])


def test_a_saliency_call_on_a_detector_bundle_names_the_problem(model: BundleModel) -> None:
    with pytest.raises(RuntimeError, match="not a saliency bundle"):
        model.saliency(scene(0, 32, 32))
