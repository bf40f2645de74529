import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from firmware_py.manifest import CenterNetDecode, Manifest, SaliencyDecode

SHA = "ab" * 32


def manifest_dict(**overrides) -> dict:
    spec = {"name": "args_0", "shape": [1, 32, 32, 3], "layout": "NHWC", "dtype": "int8",
            "quant_scale": 0.02, "quant_zero_point": -3}
    out = {"name": "output_0", "shape": [1, 8, 8, 3], "layout": "NHWC", "dtype": "int8",
           "quant_scale": 1 / 256, "quant_zero_point": -128}
    data = {
        "model": "tiny", "created": "2025-01-01T00:00:00Z",
        "exporters": {"torch": "2.13.0", "executorch": "1.5.1", "litert_torch": "0.10.0"},
        "input": {"shape": [1, 3, 32, 32]},
        "output_names": ["heatmap", "size", "offset"],
        "decode": {"type": "centernet", "num_classes": 3},
        "artifacts": [{"file": "tiny_int8.tflite", "format": "tflite", "precision": "int8",
                       "runtime": "litert", "sha256": SHA, "size": 10,
                       "signature": "serving_default", "inputs": [spec],
                       "outputs": [out, {**out, "name": "output_1"},
                                   {**out, "name": "output_2"}]}],
        "files": {"tiny_int8.tflite": SHA},
    }
    data.update(overrides)
    return data


def test_round_trip_is_exact() -> None:
    m = Manifest.model_validate(manifest_dict())
    again = Manifest.model_validate_json(m.to_json_bytes())
    assert again == m
    assert again.to_json_bytes() == m.to_json_bytes()
    assert isinstance(m.decode, CenterNetDecode) and m.decode.stride == 4


def test_decode_is_discriminated_on_type() -> None:
    m = Manifest.model_validate(manifest_dict(decode={"type": "saliency"},
                                              output_names=["saliency"]))
    assert isinstance(m.decode, SaliencyDecode)
    with pytest.raises(ValidationError):
        Manifest.model_validate(manifest_dict(decode={"type": "yolo"}))


@pytest.mark.parametrize("bad", [
    {"unknown_field": 1},
    {"files": {"../escape.bin": SHA}},
    {"files": {"/abs.bin": SHA}},
    {"files": {"a.bin": "XYZ"}},
    {"schema_version": 3},
    {"artifacts": []},
])
def test_rejects_invalid(bad: dict) -> None:
    with pytest.raises(ValidationError):
        Manifest.model_validate(manifest_dict(**bad))


def test_json_is_plain_data() -> None:
    data = json.loads(Manifest.model_validate(manifest_dict()).to_json_bytes())
    assert data["artifacts"][0]["inputs"][0]["layout"] == "NHWC"
    assert data["schema_version"] == 2


def test_device_modules_do_not_import_torch() -> None:
    code = ("import sys, firmware_py.manifest, firmware_py.verify; "
            "bad = [m for m in ('torch', 'models', 'export') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
