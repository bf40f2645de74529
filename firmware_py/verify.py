"""Bundle integrity on the device: the ed25519 signature of ``manifest.json`` and the sha256 of
every file it lists. Uses only ``cryptography`` and ``hashlib`` (no torch); the host exporter
reuses the same functions, so both halves agree on what a valid bundle is. ``cryptography`` is
imported by the functions that use keys, not by this module: ``specks run`` verifies in a
forked child (:mod:`firmware_py.verify_child`) and never maps its ~7 MB itself.

Keys are PEM files: the private key PKCS#8 (unencrypted), the public key SubjectPublicKeyInfo,
both readable by ``openssl pkey``. A key id is the sha256 of the 32 raw public-key bytes; the
manifest names its signer by key id so a refusal can say *which* check failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .manifest import Manifest, manifest_problem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
_CHUNK = 1 << 20


class BundleError(Exception):
    """A bundle failed verification; the message names the file or check that failed."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def key_id(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """Read a PEM (SubjectPublicKeyInfo) ed25519 public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{path}: not an ed25519 public key")
    return key


def _check_signature(manifest_bytes: bytes, signature: bytes, signer: str | None,
                     public_keys: list[Ed25519PublicKey]) -> None:
    from cryptography.exceptions import InvalidSignature

    trusted = {key_id(k): k for k in public_keys}
    key = trusted.get(signer or "")
    if key is None:
        raise BundleError(f"{SIGNATURE}: manifest signed by untrusted key {signer} "
                          f"(trusted: {', '.join(trusted) or 'none'}); pass --trusted-keys "
                          "with the signer's public key if you trust it")
    try:
        key.verify(signature, manifest_bytes)
    except InvalidSignature:
        raise BundleError(f"{SIGNATURE}: signature does not match {MANIFEST} "
                          "(edited after signing, or signature corrupted)") from None


def _check_files(root: Path, manifest: Manifest) -> None:
    for rel, expected in sorted(manifest.files.items()):
        path = root / rel
        if not path.is_file():
            raise BundleError(f"{rel}: file listed in {MANIFEST} is missing")
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(f"{rel}: sha256 mismatch (manifest {expected[:12]}..., "
                              f"file {actual[:12]}...)")
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    unlisted = sorted(present - set(manifest.files) - {MANIFEST, SIGNATURE})
    if unlisted:
        raise BundleError(f"{unlisted[0]}: file not listed in {MANIFEST}")
    referenced = [a.file for a in manifest.artifacts]
    if manifest.golden:
        referenced += [manifest.golden.input, *manifest.golden.outputs]
    for rel in referenced:
        if rel not in manifest.files:
            raise BundleError(f"{rel}: referenced by {MANIFEST} but not hashed in 'files'")
    for artifact in manifest.artifacts:
        if manifest.files[artifact.file] != artifact.sha256:
            raise BundleError(f"{artifact.file}: artifact sha256 disagrees with 'files'")


def verify_bundle(path: str | Path, public_keys: Iterable[Ed25519PublicKey]) -> Manifest:
    """Check the signature against ``public_keys`` and every file hash; return the manifest.

    Raises ``BundleError`` naming the first check that failed.
    """
    root = Path(path)
    if root.is_file():
        raise BundleError(f"{root}: a bundle is a directory, this is a file"
                          + (" (unpack the .tar first)" if root.suffix == ".tar" else ""))
    if not root.is_dir():
        raise BundleError(f"{root}: bundle directory does not exist")
    for name in (MANIFEST, SIGNATURE):
        if not (root / name).is_file():
            raise BundleError(f"{name}: missing from bundle {root}")
    manifest_bytes = (root / MANIFEST).read_bytes()
    try:
        manifest = Manifest.model_validate_json(manifest_bytes)
    except ValidationError as error:
        raise BundleError(f"{MANIFEST}: invalid manifest, {manifest_problem(error)}") \
            from None
    _check_signature(manifest_bytes, (root / SIGNATURE).read_bytes(), manifest.signer,
                     list(public_keys))
    _check_files(root, manifest)
    return manifest


KEY_SUFFIXES = (".pub", ".pem")


def load_trusted_keys(*locations: str | Path) -> list[Ed25519PublicKey]:
    """Every ed25519 public key (``*.pub``, ``*.pem``) in the given directories, or the given
    key files; missing directories are skipped. Raises ``BundleError`` if none is found, since
    nothing could then be trusted, or naming a file that is not a public key."""
    keys, looked = [], []
    for location in locations:
        path = Path(location)
        looked.append(str(path))
        files = sorted(p for p in path.iterdir() if p.suffix in KEY_SUFFIXES and p.is_file()) \
            if path.is_dir() else [path] if path.is_file() else []
        keys += [_public_key(f) for f in files]
    if not keys:
        raise BundleError(f"no trusted public keys (*.pub, *.pem) in "
                          f"{', '.join(looked) or 'nowhere'}")
    return keys


def _public_key(path: Path) -> Ed25519PublicKey:
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        return load_public_key(path)
    except (ValueError, UnsupportedAlgorithm) as error:
        reason = " ".join(str(error).split())
        raise BundleError(f"{path}: not a PEM public key ({reason})") from None
