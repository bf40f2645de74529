"""Bundle verification in a forked child, so the long-running ``specks run`` process never maps
``cryptography`` (issue 17, item 9: ~7 MB resident of a 150 MB budget on a Pi Zero 2 W class
board; Python cannot unload a module once imported).

The child (``os.fork``: a copy-on-write image of the parent, no second interpreter start)
applies the trust rule of :mod:`firmware_py.trust`, runs :func:`firmware_py.verify.
verify_bundle`, writes one result through a pipe and ``_exit``\\ s without running the parent's
cleanup. The result is the sha256 of the ``manifest.json`` bytes it verified, or the refusal
message. The parent then reads ``manifest.json`` itself and accepts it only if its bytes hash
the same, so a manifest swapped between the two reads is refused, not trusted.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from firmware_py.manifest import Manifest
from firmware_py.verify import MANIFEST, BundleError

_OK, _REFUSED = b"ok\n", b"refused\n"


def _child(write_fd: int, bundle: Path, given: Sequence[str | Path]) -> None:
    from firmware_py.trust import trusted_keys
    from firmware_py.verify import verify_bundle

    try:
        verify_bundle(bundle, trusted_keys(given))
        message = _OK + hashlib.sha256((bundle / MANIFEST).read_bytes()).hexdigest().encode()
    except BundleError as error:
        message = _REFUSED + str(error).encode()
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises
        message = _REFUSED + f"{bundle}: verification failed ({type(error).__name__}: " \
                             f"{error})".encode()
    os.write(write_fd, message)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def verify_in_child(bundle: str | Path, given_keys: Sequence[str | Path] = ()) -> Manifest:
    """Verify ``bundle`` against the keys :func:`firmware_py.trust.trusted_keys` picks for
    ``given_keys``, in a forked child; return its manifest or raise :class:`BundleError`."""
    bundle = Path(bundle)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _child(write_fd, bundle, given_keys)
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        reply = _read_all(read_fd)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    if reply.startswith(_REFUSED):
        raise BundleError(reply[len(_REFUSED):].decode(errors="replace"))
    if not reply.startswith(_OK):
        raise BundleError(f"{bundle}: the verifying process ended without an answer")
    manifest_bytes = (bundle / MANIFEST).read_bytes()
    if hashlib.sha256(manifest_bytes).hexdigest().encode() != reply[len(_OK):]:
        raise BundleError(f"{MANIFEST}: changed while the bundle was being verified")
    return Manifest.model_validate_json(manifest_bytes)
