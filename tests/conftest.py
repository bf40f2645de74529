"""Every test starts from the same torch seed -- without importing torch, so the device tests
run in a venv that has none (``make test-device``)."""

import sys

import pytest


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(0)
