"""Which public keys a bundle must be signed by: one rule for every command that loads or
installs a bundle (``specks run``, ``selftest``, ``device install``, ``rollback``, ``flash``).

1. ``--trusted-keys`` (repeatable; a directory of ``*.pub``/``*.pem`` or one key file): only
   those;
2. else ``$SPECKS_TRUSTED_KEYS``: directories or key files separated by ``os.pathsep`` (``:``);
3. else ``/etc/specks/trusted_keys`` when it exists: the fleet owner's own keys, and only
   those (copy the zoo key there too to keep running the shipped bundles);
4. else the zoo key shipped with Specks (``firmware_py.shipped.ZOO_KEYS``), which signs the
   bundles in the package.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_py.shipped import ZOO_KEYS
from firmware_py.verify import BundleError, load_trusted_keys

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SYSTEM_KEYS = Path("/etc/specks/trusted_keys")
ENV = "SPECKS_TRUSTED_KEYS"


def trusted_key_locations(given: Sequence[str | Path] = (),
                          system: Path = SYSTEM_KEYS) -> list[Path]:
    """The key locations the rule above picks; ``system`` is the board's ``/etc`` folder
    (another one for a board's root filesystem mounted on a workstation)."""
    if given:
        return [Path(p) for p in given]
    env = os.environ.get(ENV)
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [system] if system.is_dir() else [ZOO_KEYS]


def trusted_keys(given: Sequence[str | Path] = (),
                 system: Path = SYSTEM_KEYS) -> list[Ed25519PublicKey]:
    """The public keys of :func:`trusted_key_locations`; :class:`BundleError` if none."""
    locations = trusted_key_locations(given, system)
    try:
        return load_trusted_keys(*locations)
    except BundleError as error:
        raise BundleError(f"{error}; pass --trusted-keys DIR (or set ${ENV}) with the "
                          "signer's public key") from None
