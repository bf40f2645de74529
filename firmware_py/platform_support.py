"""Which systems Specks runs on: a 64-bit OS and Python, x86-64 or arm64 (every supported board
is arm64: Raspberry Pi OS 64-bit on the Pi Zero 2 W, 4 and 5; JetPack 6 on the Jetson Orin).

A 32-bit Raspberry Pi OS is the one a user is most likely to meet: there are no 32-bit ARM
wheels of the runtimes (ai-edge-litert, executorch), so the device extra leaves LiteRT out on
an ``armv7l``/``armv6l`` kernel (an environment marker in ``pyproject.toml``) and the
``specks`` entry point stops with this module's one-line message instead of failing later on
a missing runtime. The check reads the interpreter's pointer size, not ``uname``: a 32-bit Pi
OS can boot a 64-bit kernel, and ``platform.machine()`` then says ``aarch64``.
"""

from __future__ import annotations

import platform
import struct


def unsupported_reason(pointer_bits: int | None = None, machine: str | None = None
                       ) -> str | None:
    """Why this interpreter cannot run Specks, or None when it can. The arguments default to
    the running interpreter's pointer size and ``platform.machine()``."""
    bits = pointer_bits if pointer_bits is not None else struct.calcsize("P") * 8
    machine = machine if machine is not None else platform.machine()
    if bits >= 64:
        return None
    hint = ("install Raspberry Pi OS (64-bit)" if machine.startswith(("arm", "aarch64"))
            else "install a 64-bit OS and Python")
    return (f"Specks needs a 64-bit OS and Python (arm64 or x86-64), and this Python is "
            f"{bits}-bit on {machine or 'an unknown machine'}: {hint}")
