"""Which systems Specks refuses, and that the refusal is one clear line."""

from __future__ import annotations

import pytest

from firmware_py.platform_support import unsupported_reason


def test_this_64_bit_interpreter_is_supported() -> None:
    assert unsupported_reason() is None


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_64_bit_is_supported(machine: str) -> None:
    assert unsupported_reason(64, machine) is None


@pytest.mark.parametrize("machine", ["armv7l", "armv6l", "aarch64"])  # aarch64: 32-bit Pi OS
def test_32_bit_pi_os_is_refused_in_one_line(machine: str) -> None:  # on a 64-bit kernel
    reason = unsupported_reason(32, machine)
    assert reason is not None and "\n" not in reason
    assert "32-bit" in reason and machine in reason and "Raspberry Pi OS (64-bit)" in reason


def test_other_32_bit_systems_are_refused() -> None:
    reason = unsupported_reason(32, "i686")
    assert reason is not None and "64-bit OS and Python" in reason
    assert "Raspberry Pi" not in reason
