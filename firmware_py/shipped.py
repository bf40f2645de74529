"""Where Specks finds what ships with it: the board profiles, the zoo's public signing key and
the shipped bundles.

A built wheel carries them inside the package, under ``firmware_py/_data/`` (``setup.py``
copies the repository's ``board_configs/`` and ``models/zoo/bundles/`` there at build time), so
a device installed from the wheel needs no checkout. A git checkout (an editable install)
reads them in place. System-wide copies (``/etc/specks/boards``, ``/etc/specks/trusted_keys``)
take precedence where the lookups say so (:mod:`firmware_py.board`, :mod:`firmware_py.trust`).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
CHECKOUT = Path(__file__).resolve().parent.parent


def shipped(relative: str) -> Path:
    """``relative`` (a repository path such as ``board_configs``) inside the installed package,
    else in the checkout."""
    packaged = PACKAGE_DATA / relative
    return packaged if packaged.exists() else CHECKOUT / relative


BOARDS = shipped("board_configs")
ZOO_KEYS = BOARDS / "trusted_keys"
ZOO_BUNDLES = shipped("models/zoo/bundles")
DEFAULT_BUNDLE = ZOO_BUNDLES / "specknet-nano"
