"""Rebuild the device tests' signed bundle, ``tests/data/device-bundle`` (a TinyCenterNet, fp32
``.tflite``, 32x32 tiles), with the real exporter and the test-only key in
``tests/data/device-key`` (generated on first use; trusted by no device, only by the tests).

The bundle is checked in so that ``tests/firmware_py`` runs where torch is not installed (a
device-only venv, ``make test-device``). Rebuild it when the exporter or the manifest changes
(``tests/export/test_device_bundle.py`` says when)::

    .venv/bin/python -m tests.data.make_device_bundle
"""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parent
BUNDLE = DATA / "device-bundle"
KEYS = DATA / "device-key"


def main() -> None:
    from tests.bundles import make_bundle  # torch: host only

    shutil.rmtree(BUNDLE, ignore_errors=True)
    make_bundle(BUNDLE, KEYS)


if __name__ == "__main__":
    main()
