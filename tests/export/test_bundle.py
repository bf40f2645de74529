import numpy as np
import pytest

from export import ExportError
from export.bundle import export_bundle, pack_bundle, unpack_bundle, verify_bundle
from firmware_py.manifest import CenterNetDecode
from firmware_py.verify import BundleError

DECODE = CenterNetDecode(num_classes=3)


def _debris(parent) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, tiny_model, calibration, validation, keypair):
    private, _ = keypair
    dest = tmp_path_factory.mktemp("out") / "tiny"
    manifest = export_bundle(tiny_model, dest, name="tiny", example_input=validation[0],
                             validation=validation, private_key=private,
                             calibration=calibration, formats=("pte", "tflite"),
                             precisions=("int8",), decode=DECODE, labels=("a", "b", "c"),
                             metrics={"mAP": 0.5})
    return dest, manifest


@pytest.mark.slow  # shares a ~15 s two-artifact int8 export
def test_bundle_verifies_and_describes_artifacts(bundle, keypair) -> None:
    dest, written = bundle
    manifest = verify_bundle(dest, [keypair[1]])
    assert manifest == written
    assert {(a.format, a.precision) for a in manifest.artifacts} == {("pte", "int8"),
                                                                     ("tflite", "int8")}
    pte, tfl = sorted(manifest.artifacts, key=lambda a: a.format)
    assert pte.inputs[0].layout == "NCHW" and pte.inputs[0].dtype == "float32"
    assert tfl.inputs[0].layout == "NHWC" and tfl.inputs[0].dtype == "int8"
    assert tfl.signature == "serving_default"
    assert pte.delegated_ops_only and pte.non_delegated_ops == ()
    for artifact in manifest.artifacts:
        assert artifact.parity.passed and artifact.parity.min_cosine == 0.98
        assert artifact.size == (dest / artifact.file).stat().st_size
    assert manifest.output_names == ("heatmap", "size", "offset")
    assert manifest.tile_size == (32, 32) and manifest.labels == ("a", "b", "c")
    assert manifest.exporters.executorch and manifest.exporters.litert_torch
    # the int8 .tflite gate ran the builtin kernels (XNNPACK off) on the validation tiles
    assert manifest.metrics["tflite_int8/builtin_vs_xnnpack_min_cosine"] > 0.999
    assert set(manifest.files) == {"tiny_int8.pte", "tiny_int8.tflite", "golden/input.npy",
                                   "golden/output_0.npy", "golden/output_1.npy",
                                   "golden/output_2.npy"}
    assert _debris(dest.parent) == []


@pytest.mark.slow  # shares a ~15 s two-artifact int8 export
def test_golden_files_replay_in_runtime(bundle, tiny_model) -> None:
    """The golden input, run in the bundled runtime, reproduces the golden outputs."""
    from firmware_py.runtimes import load_runner

    dest, manifest = bundle
    x = np.load(dest / manifest.golden.input)
    assert x.shape == (1, 3, 32, 32) and x.dtype == np.float32
    for artifact in manifest.artifacts:
        outputs = load_runner(dest / artifact.file, artifact.format)(x)
        for got, rel in zip(outputs, manifest.golden.outputs, strict=True):
            want = np.load(dest / rel)
            cos = float(got.ravel() @ want.ravel()
                        / (np.linalg.norm(got) * np.linalg.norm(want)))
            assert cos > 0.98


@pytest.mark.slow  # shares a ~15 s two-artifact int8 export
def test_tar_round_trip(bundle, keypair, tmp_path) -> None:
    dest, _ = bundle
    tar = pack_bundle(dest, tmp_path / "tiny.tar")
    unpacked = unpack_bundle(tar, tmp_path / "x")
    assert verify_bundle(unpacked, [keypair[1]]).model == "tiny"


@pytest.mark.slow  # shares a ~15 s two-artifact int8 export
def test_refuses_existing_destination(bundle, tiny_model, validation, keypair) -> None:
    dest, _ = bundle
    with pytest.raises(ExportError, match="exists"):
        export_bundle(tiny_model, dest, name="tiny", example_input=validation[0],
                      validation=validation, private_key=keypair[0], precisions=("fp32",))


def test_failure_mid_export_leaves_nothing(tmp_path, tiny_model, validation, keypair) -> None:
    """The first artifact is written, the second fails: no bundle and no temp debris."""
    dest = tmp_path / "bundle"
    with pytest.raises(ExportError, match="unknown format 'onnx'"):
        export_bundle(tiny_model, dest, name="tiny", example_input=validation[0],
                      validation=validation, private_key=keypair[0],
                      formats=("tflite", "onnx"), precisions=("fp32",))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # shares a ~15 s two-artifact int8 export
def test_tampered_export_is_refused(bundle, keypair, tmp_path) -> None:
    dest, _ = bundle
    copy = unpack_bundle(pack_bundle(dest, tmp_path / "c.tar"), tmp_path / "c")
    data = bytearray((copy / "tiny_int8.pte").read_bytes())
    data[-1] ^= 1
    (copy / "tiny_int8.pte").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="tiny_int8.pte: sha256 mismatch"):
        verify_bundle(copy, [keypair[1]])


def test_int8_without_calibration_is_refused(tmp_path, tiny_model, validation, keypair) -> None:
    with pytest.raises(ExportError, match="calibration"):
        export_bundle(tiny_model, tmp_path / "b", name="tiny", example_input=validation[0],
                      validation=validation, private_key=keypair[0], precisions=("int8",))
    assert list(tmp_path.iterdir()) == []


def test_accuracy_metrics_flatten_and_drop() -> None:
    from export.bundle import _accuracy_metrics

    accuracy = {"eager": {"mAP50": 0.8}, "pte_fp32": {"mAP50": 0.8, "AP_small": 0.5},
                "pte_int8": {"mAP50": 0.79, "AP_small": 0.45}, "tflite_int8": {"mAP50": 0.7}}
    flat = _accuracy_metrics(accuracy, ("pte", "tflite"), None)
    assert flat["eager/mAP50"] == 0.8 and flat["tflite_int8/mAP50"] == 0.7
    assert flat["pte_int8/mAP50_drop"] == pytest.approx(0.01)
    assert flat["pte_int8/AP_small_drop"] == pytest.approx(0.05)
    assert not any(k.startswith("tflite_int8/") and k.endswith("_drop") for k in flat)
    assert _accuracy_metrics(accuracy, ("pte",), {"mAP50": 0.011})
    with pytest.raises(ExportError, match="pte mAP50 drop 1.00 > 0.50 points"):
        _accuracy_metrics(accuracy, ("pte",), {"mAP50": 0.005})

