"""System tools the tests drive for real (broker, sshd, browser, systemd's unit checker).
`make test` installs them (``.ci/system-deps.sh``); a test that still finds one missing skips
with the install command, except under ``CI=true``, where a missing tool is a failure: CI must
never pass by skipping what it was meant to check."""

from __future__ import annotations

import os

import pytest


def require_tool(path: str | None, what: str, apt_package: str) -> str:
    """``path`` when the tool was found; otherwise fail (CI) or skip, naming the package."""
    if path:
        return path
    message = (f"{what} is not installed: apt-get install {apt_package} "
               "(`make test` installs it when run as root)")
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
