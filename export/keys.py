"""Ed25519 signing keys for bundles, as PEM files.

Choice: PEM (private: PKCS#8 unencrypted, mode 0600; public: SubjectPublicKeyInfo) rather than
raw 32-byte files, because PEM is self-describing and ``openssl pkey -in specks.key`` reads it.
Loading the public key and computing key ids live in ``firmware_py.verify`` (the device needs
them); this module adds what only the host needs: generating and loading the private key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_py.verify import key_id, load_public_key

__all__ = ["generate_keypair", "key_id", "load_private_key", "load_public_key"]


def generate_keypair(out_dir: str | Path, name: str = "specks") -> tuple[Path, Path]:
    """Write ``<name>.key`` (private) and ``<name>.pub`` (public) into ``out_dir``; refuse to
    overwrite either. Returns (private path, public path)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out / f"{name}.key", out / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Read a PEM (PKCS#8, unencrypted) ed25519 private key."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an ed25519 private key")
    return key
