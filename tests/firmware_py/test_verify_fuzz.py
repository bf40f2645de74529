"""Fuzzing the bundle manifest parsers (Hypothesis): a ``manifest.json`` with fields changed,
added or of the wrong type, signed by the trusted key so that every check runs, or any bytes
at all, is accepted or refused with one :class:`BundleError` (``verify_bundle``) or
:class:`DeviceError` (``read_manifest``, what ``specks device status`` reads) line; never a
traceback."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import given
from hypothesis import strategies as st

from firmware_py.device import DeviceError
from firmware_py.device.slots import bundle_version, read_manifest
from firmware_py.verify import MANIFEST, SIGNATURE, BundleError, load_public_key, verify_bundle
from tests.data.make_device_bundle import BUNDLE, KEYS
from tests.firmware_py.fuzz import FUZZ, json_values, mutate, one_line, paths

ORIGINAL = json.loads((BUNDLE / MANIFEST).read_text())
PRIVATE = load_pem_private_key((KEYS / "specks.key").read_bytes(), None)
PUBLIC = [load_public_key(KEYS / "specks.pub")]


@st.composite
def edited_manifests(draw: st.DrawFn) -> dict:
    tree = ORIGINAL
    for _ in range(draw(st.integers(1, 3))):
        path = list(draw(st.sampled_from(paths(tree))))
        if draw(st.booleans()):
            path.append(draw(st.sampled_from(["file", "sha256", "../x", "boards", "extra"])))
        tree = mutate(tree, path, draw(json_values))
    return tree


def _check(manifest: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder) / "bundle"
        shutil.copytree(BUNDLE, bundle)
        (bundle / MANIFEST).write_bytes(manifest)
        (bundle / SIGNATURE).write_bytes(PRIVATE.sign(manifest))
        one_line(lambda: verify_bundle(bundle, PUBLIC), BundleError)
        one_line(lambda: bundle_version(bundle), DeviceError)
        one_line(lambda: read_manifest(bundle), DeviceError)


@FUZZ
@given(edited_manifests())
def test_a_signed_edited_manifest_is_verified_or_refused_in_one_line(tree: dict) -> None:
    _check(json.dumps(tree, indent=2).encode())


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_manifest_bytes_are_refused_in_one_line(data: bytes) -> None:
    _check(data)


def test_an_invalid_manifest_names_the_field() -> None:
    tree = mutate(ORIGINAL, ["artifacts", 0, "size"], -3)
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder) / "bundle"
        shutil.copytree(BUNDLE, bundle)
        data = json.dumps(tree).encode()
        (bundle / MANIFEST).write_bytes(data)
        (bundle / SIGNATURE).write_bytes(PRIVATE.sign(data))
        try:
            verify_bundle(bundle, PUBLIC)
        except BundleError as error:
            assert "field 'artifacts.0.size'" in str(error), error
        else:
            raise AssertionError("a negative artifact size was accepted")
