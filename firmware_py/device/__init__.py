"""The device side of flashing: A/B slots, verified installs, a golden self-test, rollback,
the systemd unit and the health file (no torch).

Layout under the device root (``/opt/specks``; ``--root`` or ``$SPECKS_ROOT``)::

    slots/a, slots/b     two complete bundles at most
    current -> slots/a   what ``specks run`` loads (relative symlink, switched atomically)
    previous -> slots/b  what ``specks rollback`` returns to
    run/health.json      rewritten by ``specks run`` every stats period
    run/install.json     the outcome of the last install
    spool/, log/         the service's MQTT spool and logs (the profile's relative paths)
    staging/             bundles copied by ``specks flash`` before they are installed
    board                the board profile name of the last install

Trusted signing keys are the PEM public keys in ``/etc/specks/trusted_keys/``
(``--trusted-keys`` or ``$SPECKS_TRUSTED_KEYS``).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from firmware_py import verify
from firmware_py.verify import BundleError

DEFAULT_ROOT = Path("/opt/specks")
DEFAULT_TRUSTED_KEYS = Path("/etc/specks/trusted_keys")


class DeviceError(Exception):
    """A device operation was refused or failed; the message says why and what to do."""


def device_root(value: str | Path | None = None) -> Path:
    """``value``, else ``$SPECKS_ROOT``, else ``/opt/specks``."""
    return Path(value or os.environ.get("SPECKS_ROOT") or DEFAULT_ROOT)


def trusted_keys_dir(value: str | Path | None = None) -> Path:
    """``value``, else ``$SPECKS_TRUSTED_KEYS``, else ``/etc/specks/trusted_keys``."""
    return Path(value or os.environ.get("SPECKS_TRUSTED_KEYS") or DEFAULT_TRUSTED_KEYS)


def load_trusted_keys(folder: str | Path) -> list[Ed25519PublicKey]:
    """Every ``*.pub`` / ``*.pem`` ed25519 public key in ``folder``; at least one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DeviceError(f"{folder}: trusted-keys directory does not exist; copy the signer's "
                          "public key (.pub) there or pass --trusted-keys DIR")
    try:
        return verify.load_trusted_keys(folder)
    except BundleError as error:
        raise DeviceError(str(error)) from None
