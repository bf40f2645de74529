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
from firmware_py.verify import (
    MANIFEST,
    SIGNATURE,
    BundleError,
    load_public_key,
    load_trusted_keys,
    verify_bundle,
)
from tests.data.make_device_bundle import BUNDLE, KEYS
from tests.firmware_py.fuzz import FUZZ, edited, mutate, one_line

ORIGINAL = json.loads((BUNDLE / MANIFEST).read_text())
PRIVATE = load_pem_private_key((KEYS / "specks.key").read_bytes(), None)
PUBLIC = [load_public_key(KEYS / "specks.pub")]


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
@given(edited(ORIGINAL, ("file", "sha256", "../x", "boards", "extra")))
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


PEM = (KEYS / "specks.pub").read_bytes()


@FUZZ
@given(st.binary(max_size=200)
       | st.tuples(st.integers(0, len(PEM) - 1), st.binary(min_size=1, max_size=8)).map(
           lambda edit: PEM[:edit[0]] + edit[1] + PEM[edit[0] + len(edit[1]):]))
def test_any_trusted_key_file_is_loaded_or_refused_in_one_line(data: bytes) -> None:
    """``--trusted-keys`` files: a key, or one BundleError line naming the file."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "signer.pub").write_bytes(data)
        one_line(lambda: load_trusted_keys(folder), BundleError)


def test_a_key_of_an_unknown_type_is_named(tmp_path: Path) -> None:
    """Found by the fuzzer: a PEM whose algorithm id was garbled raised cryptography's
    UnsupportedAlgorithm, not a one-line refusal."""
    key = tmp_path / "signer.pub"
    key.write_bytes(b"-----BEGIN PUBLIC KEY-----MCowBQYD+0VwAyEA++////10048ADHIIJMMOPQQTUUZbdg4"
                    b"4jkmoptuvyyc=-----END PUBLIC KEY-----")
    try:
        load_trusted_keys(tmp_path)
    except BundleError as error:
        assert str(error).startswith(f"{key}: not a PEM public key (Unknown key type"), error
    else:
        raise AssertionError("accepted")
