"""Signing a shipped bundle again (`specks bundle sign`): a key rotation, or a fleet owner
taking the zoo's bundles under its own key."""

import logging
import shutil

import pytest

from export.bundle import resign_bundle
from export.keys import generate_keypair, load_private_key, load_public_key
from firmware_py.shipped import ZOO_BUNDLES, ZOO_KEYS
from firmware_py.verify import MANIFEST, SIGNATURE, BundleError, load_trusted_keys, verify_bundle
from tests.export.conftest import run_cli

ZOO = load_trusted_keys(ZOO_KEYS)




@pytest.fixture
def shipped(tmp_path):
    """A copy of the shipped prior bundle (the smallest), signed by the zoo key."""
    return shutil.copytree(ZOO_BUNDLES / "csnet-prior", tmp_path / "csnet-prior")


@pytest.fixture
def fleet(tmp_path):
    private, public = generate_keypair(tmp_path / "keys", "fleet")
    return private, public


def _contents(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in (MANIFEST, SIGNATURE)}


def test_resigned_bundle_verifies_with_the_new_key_only(shipped, fleet) -> None:
    before = _contents(shipped)
    old = verify_bundle(shipped, ZOO)
    new = resign_bundle(shipped, load_private_key(fleet[0]), ZOO)
    assert verify_bundle(shipped, [load_public_key(fleet[1])]) == new
    with pytest.raises(BundleError, match="untrusted key"):
        verify_bundle(shipped, ZOO)
    assert _contents(shipped) == before
    assert new.model_dump(exclude={"signer"}) == old.model_dump(exclude={"signer"})
    assert new.signer != old.signer
    assert not [p for p in shipped.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_an_altered_bundle_is_not_signed_anew(shipped, fleet) -> None:
    artifact = next(shipped.glob("*.tflite"))
    data = bytearray(artifact.read_bytes())
    data[-1] ^= 0xFF
    artifact.write_bytes(bytes(data))
    signature = (shipped / SIGNATURE).read_bytes()
    with pytest.raises(BundleError, match="sha256 mismatch"):
        resign_bundle(shipped, load_private_key(fleet[0]), ZOO)
    assert (shipped / SIGNATURE).read_bytes() == signature


def test_a_bundle_signed_by_an_untrusted_key_is_not_signed_anew(shipped, fleet) -> None:
    with pytest.raises(BundleError, match="untrusted key"):
        resign_bundle(shipped, load_private_key(fleet[0]), [load_public_key(fleet[1])])


def test_cli_writes_elsewhere_and_says_the_new_signer(shipped, fleet, tmp_path, caplog) -> None:
    out = tmp_path / "fleet-prior"
    with caplog.at_level(logging.INFO):
        assert run_cli("bundle", "sign", str(shipped), "--key", str(fleet[0]),
                    "--trusted-key", str(ZOO_KEYS / "specks-zoo.pub"), "--out", str(out)) == 0
    assert verify_bundle(out, [load_public_key(fleet[1])]).signer in caplog.text
    verify_bundle(shipped, ZOO)  # the source is untouched


def test_cli_refusal_is_one_line(shipped, fleet, caplog) -> None:
    assert run_cli("bundle", "sign", str(shipped), "--key", str(fleet[0]),
                "--trusted-key", str(fleet[1])) == 2
    assert "untrusted key" in caplog.text
