"""Device-side verification, driven through real files, real keys and real signatures."""

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_py.manifest import Manifest
from firmware_py.verify import BundleError, key_id, verify_bundle

MODEL = b"\x1cTFL3 pretend model bytes"


def manifest_dict(sha: str, signer: str) -> dict:
    tensor = {"name": "t", "shape": [1, 8, 8, 3], "layout": "NHWC", "dtype": "float32"}
    return {
        "model": "tiny", "created": "2025-01-01T00:00:00Z", "exporters": {"torch": "2.13.0"},
        "input": {"shape": [1, 3, 32, 32]}, "output_names": ["saliency"],
        "artifacts": [{"file": "tiny_int8.tflite", "format": "tflite", "precision": "int8",
                       "runtime": "litert", "sha256": sha, "size": len(MODEL),
                       "inputs": [tensor], "outputs": [tensor]}],
        "files": {"tiny_int8.tflite": sha}, "signer": signer,
    }


def _bundle(root: Path, key: Ed25519PrivateKey) -> Path:
    root.mkdir()
    (root / "tiny_int8.tflite").write_bytes(MODEL)
    sha = hashlib.sha256(MODEL).hexdigest()
    raw = Manifest.model_validate(manifest_dict(sha, key_id(key.public_key()))).to_json_bytes()
    (root / "manifest.json").write_bytes(raw)
    (root / "manifest.json.sig").write_bytes(key.sign(raw))
    return root


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def bundle(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    return _bundle(tmp_path / "b", key)


def test_valid_bundle(bundle: Path, key: Ed25519PrivateKey) -> None:
    manifest = verify_bundle(bundle, [Ed25519PrivateKey.generate().public_key(),
                                      key.public_key()])
    assert manifest.model == "tiny"


def test_tampered_file(bundle: Path, key: Ed25519PrivateKey) -> None:
    (bundle / "tiny_int8.tflite").write_bytes(MODEL + b"!")
    with pytest.raises(BundleError, match=r"tiny_int8.tflite: sha256 mismatch"):
        verify_bundle(bundle, [key.public_key()])


def test_manifest_edited_after_signing(bundle: Path, key: Ed25519PrivateKey) -> None:
    data = json.loads((bundle / "manifest.json").read_text())
    data["labels"] = ["drone"]
    (bundle / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="edited after signing"):
        verify_bundle(bundle, [key.public_key()])


def test_untrusted_signer(bundle: Path) -> None:
    with pytest.raises(BundleError, match="untrusted key"):
        verify_bundle(bundle, [Ed25519PrivateKey.generate().public_key()])


def test_forged_signer_field(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    """An attacker's key naming the trusted key id still fails the signature check."""
    attacker = Ed25519PrivateKey.generate()
    forged = _bundle(tmp_path / "f", attacker)
    data = json.loads((forged / "manifest.json").read_text())
    data["signer"] = key_id(key.public_key())
    raw = json.dumps(data).encode()
    (forged / "manifest.json").write_bytes(raw)
    (forged / "manifest.json.sig").write_bytes(attacker.sign(raw))
    with pytest.raises(BundleError, match="signature does not match"):
        verify_bundle(forged, [key.public_key()])


def test_missing_file(bundle: Path, key: Ed25519PrivateKey) -> None:
    (bundle / "tiny_int8.tflite").unlink()
    with pytest.raises(BundleError, match="tiny_int8.tflite: file listed in manifest.json is "
                       "missing"):
        verify_bundle(bundle, [key.public_key()])


def test_missing_signature(bundle: Path, key: Ed25519PrivateKey) -> None:
    (bundle / "manifest.json.sig").unlink()
    with pytest.raises(BundleError, match="manifest.json.sig: missing"):
        verify_bundle(bundle, [key.public_key()])


def test_unlisted_file(bundle: Path, key: Ed25519PrivateKey) -> None:
    (bundle / "extra.so").write_bytes(b"x")
    with pytest.raises(BundleError, match="extra.so: file not listed"):
        verify_bundle(bundle, [key.public_key()])
