"""Bundle variants for the install and flash tests: copy a signed bundle, change files or the
manifest, and sign again with the real host signer (``export.bundle.sign_and_write``); the
bad bundles a device must refuse; a stand-in for ``systemctl restart specks`` that writes the
health file the way ``specks run --health-file`` does."""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from export.bundle import sign_and_write
from export.keys import load_private_key
from firmware_py.manifest import Manifest


def resign(bundle: Path, dest: Path, private_key: Path,
           edit: Callable[[Path], None] | None = None, **updates) -> Path:
    """Copy ``bundle`` to ``dest``, run ``edit(dest)`` on its files, update manifest fields
    and sign it with ``private_key``."""
    shutil.copytree(bundle, dest)
    if edit is not None:
        edit(dest)
    manifest = Manifest.model_validate_json((dest / "manifest.json").read_bytes())
    manifest = manifest.model_copy(update=updates)
    sign_and_write(dest, manifest, load_private_key(private_key))
    return dest


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _tamper(bundle: Path, dest: Path, private_key: Path) -> Path:
    shutil.copytree(bundle, dest)
    flip_byte(dest / "tiny_fp32.tflite")
    return dest


def _edit_manifest(bundle: Path, dest: Path, private_key: Path) -> Path:
    shutil.copytree(bundle, dest)
    data = json.loads((dest / "manifest.json").read_text())
    data["decode"]["score_threshold"] = 0.9
    (dest / "manifest.json").write_text(json.dumps(data, indent=2) + "\n")
    return dest


def _foreign_key(bundle: Path, dest: Path, private_key: Path) -> Path:
    key = dest.parent / f"foreign-{uuid.uuid4().hex[:6]}.key"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return resign(bundle, dest, key, metrics={"version": 3})


def _other_board(bundle: Path, dest: Path, private_key: Path) -> Path:
    return resign(bundle, dest, private_key, boards=("rpi5",), metrics={"version": 5})


def _corrupt_golden(bundle: Path, dest: Path, private_key: Path) -> Path:
    def edit(root: Path) -> None:
        path = root / "golden" / "output_0.npy"
        np.save(path, np.load(path)[..., ::-1] + 0.5)

    return resign(bundle, dest, private_key, edit, metrics={"version": 6})


# name -> (make(bundle, dest, signer's private key) -> bad bundle, words of the refusal)
REFUSALS: dict[str, tuple[Callable[[Path, Path, Path], Path], str]] = {
    "tampered file": (_tamper, "sha256 mismatch"),
    "manifest edited after signing": (_edit_manifest, "signature does not match"),
    "untrusted signer": (_foreign_key, "untrusted key"),
    "another board": (_other_board, "is for boards rpi5; this device is x86-generic"),
    "self-test fails": (_corrupt_golden, "self-test failed"),
}


SERVICE = """
import json, os, sys, time
root, ok = sys.argv[1], sys.argv[2] == "ok"
record = {"t_wall": time.time(), "frames": 10, "fps": 12.5, "bundle": f"{root}/current",
          "model": "tiny", "ok": ok}
os.makedirs(f"{root}/run", exist_ok=True)
with open(f"{root}/run/.health.tmp", "w") as f:
    json.dump(record, f)
os.replace(f"{root}/run/.health.tmp", f"{root}/run/health.json")
with open(f"{root}/restarts", "a") as f:
    f.write(os.path.realpath(f"{root}/current") + "\\n")
"""


def stand_in_restart(tmp_path: Path, root: Path, ok: bool) -> str:
    """A restart command standing in for ``systemctl restart specks``: it writes the health
    file as the pipeline does and logs which bundle was current when it ran."""
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    return f"{sys.executable} {script} {root} {'ok' if ok else 'bad'}"
