"""A system tool a test needs (systemd-analyze, mosquitto, sshd, chromium): found, or the test
stops with the one command that installs it. `make test` installs them all when run as root
(``.ci/system-deps.sh``). Under CI (``CI=true``) a missing tool fails the test, so a green CI
run never hides skipped tests; elsewhere it skips."""

from __future__ import annotations

import os
import shutil

import pytest


def required_tool(name: str, install: str, candidates: tuple[str, ...] = ()) -> str:
    """The path of executable ``name`` (on PATH or one of ``candidates``); else fail under CI,
    skip elsewhere, saying ``install``."""
    for candidate in (shutil.which(name), *candidates):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = f"{name} not found; install it: {install}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
