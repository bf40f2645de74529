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

Trusted signing keys follow one rule for every command (:mod:`firmware_py.trust`):
``--trusted-keys``, else ``$SPECKS_TRUSTED_KEYS``, else ``/etc/specks/trusted_keys/``, else the
zoo key shipped with the package.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_py import trust
from firmware_py.verify import BundleError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DEFAULT_ROOT = Path("/opt/specks")
KeyLocations = str | Path | Sequence[str | Path] | None


class DeviceError(Exception):
    """A device operation was refused or failed; the message says why and what to do."""


def device_root(value: str | Path | None = None) -> Path:
    """``value``, else ``$SPECKS_ROOT``, else ``/opt/specks``."""
    return Path(value or os.environ.get("SPECKS_ROOT") or DEFAULT_ROOT)


def load_trusted_keys(given: KeyLocations = None,
                      system: Path = trust.SYSTEM_KEYS) -> list[Ed25519PublicKey]:
    """The trusted public keys: ``given`` (a directory or key file, or several), else the
    rule of :mod:`firmware_py.trust`; at least one."""
    given = [] if given is None else [given] if isinstance(given, (str, Path)) else list(given)
    for location in given:
        if not Path(location).exists():
            raise DeviceError(f"{location}: trusted-keys directory does not exist; copy the "
                              "signer's public key (.pub) there or pass --trusted-keys DIR")
    try:
        return trust.trusted_keys(given, system)
    except BundleError as error:
        raise DeviceError(str(error)) from None
