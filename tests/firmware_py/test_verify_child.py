"""Verification in a forked child: the same verdicts as in-process verification, and a
``specks run`` process that never maps ``cryptography``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from firmware_py.shipped import ZOO_KEYS
from firmware_py.verify import BundleError, load_trusted_keys, verify_bundle
from firmware_py.verify_child import verify_in_child

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def signed(device_bundle, tmp_path: Path) -> tuple[Path, Path]:
    """``(bundle copy, directory holding its public key)``."""
    bundle, _, public = device_bundle
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    keys = tmp_path / "keys"
    keys.mkdir()
    shutil.copy(public, keys / "specks.pub")
    return copy, keys


def test_same_manifest_as_in_process(signed: tuple[Path, Path]) -> None:
    bundle, keys = signed
    assert verify_in_child(bundle, [keys]) == verify_bundle(bundle, load_trusted_keys(keys))


@pytest.mark.parametrize("tamper", ["artifact", "manifest", "signature"])
def test_refusals_match_in_process(signed: tuple[Path, Path], tamper: str) -> None:
    bundle, keys = signed
    manifest = json.loads((bundle / "manifest.json").read_text())
    if tamper == "artifact":
        path = bundle / manifest["artifacts"][0]["file"]
        path.write_bytes(path.read_bytes() + b"!")
    elif tamper == "manifest":
        manifest["model"] += "-edited"
        (bundle / "manifest.json").write_text(json.dumps(manifest))
    else:
        (bundle / "manifest.json.sig").unlink()
    with pytest.raises(BundleError) as in_process:
        verify_bundle(bundle, load_trusted_keys(keys))
    with pytest.raises(BundleError) as in_child:
        verify_in_child(bundle, [keys])
    assert str(in_child.value) == str(in_process.value)


def test_untrusted_key_names_the_flag(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, _ = signed
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(ZOO_KEYS / "specks-zoo.pub", other)  # a real key, not the bundle's
    with pytest.raises(BundleError, match="untrusted key.*--trusted-keys"):
        verify_in_child(bundle, [other])


def test_missing_key_directory(signed: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no trusted public keys"):
        verify_in_child(signed[0], [tmp_path / "nowhere"])


RUN_AND_REPORT = """
import json, sys
from firmware_py.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code,
                  "crypto": sorted(m for m in sys.modules if m.startswith("cryptography"))}))
"""


def test_run_never_imports_cryptography(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, keys = signed
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i}.png"), np.full((64, 96, 3), 40 * i, np.uint8))
    out = tmp_path / "det.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT, "run", "--board", "x86-generic", "--bundle",
         str(bundle), "--trusted-keys", str(keys), "--source", str(frames), "--no-realtime",
         "--quiet",
         "--jsonl", str(out), "--set", "runtime.precision=fp32"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "crypto": []}, done.stderr
    kinds = [json.loads(line)["kind"] for line in out.read_text().splitlines()]
    assert kinds.count("detections") == 3  # every frame: read without pacing
