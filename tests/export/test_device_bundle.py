"""The device tests' checked-in bundle (``tests/data/device-bundle``) is what today's exporter
writes: rebuild it with ``.venv/bin/python -m tests.data.make_device_bundle`` when this fails."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bundles import make_bundle
from tests.data.make_device_bundle import BUNDLE, KEYS

VOLATILE = ("created", "export_seconds", "exporters")


def _stable(manifest: dict) -> dict:
    """The manifest without what differs between two identical exports."""
    if isinstance(manifest, dict):
        return {k: _stable(v) for k, v in manifest.items() if k not in VOLATILE}
    if isinstance(manifest, list):
        return [_stable(v) for v in manifest]
    return manifest


def test_the_checked_in_device_bundle_is_current(tmp_path: Path) -> None:
    fresh, _, _ = make_bundle(tmp_path / "bundle", KEYS)
    checked_in = json.loads((BUNDLE / "manifest.json").read_text())
    assert _stable(checked_in) == _stable(fresh.model_dump(mode="json")), (
        "tests/data/device-bundle is stale: run .venv/bin/python -m tests.data.make_device_bundle")
