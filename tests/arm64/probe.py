"""Run one ``specks`` command in this process and record what the board would care about.

    python probe.py RECORD.json -- selftest BUNDLE --board ... --json

The emulation lane (``tests/arm64/lane.py``) runs every board command through this wrapper,
inside the arm64 root (under qemu-user) and in the x86 device venv alike. After
``firmware_py.cli.main`` returns it writes one JSON record: the exit code, the peak resident
set size (``getrusage``; under qemu-user this is the emulator process, guest memory plus the
translator, so it overstates the board's figure), the ``torch`` modules in ``sys.modules``
and the libtorch files mapped into the process (``/proc/self/maps``, which qemu-user filters
to the guest's mappings), and on aarch64 the CPU features the process was given
(``AT_HWCAP``/``AT_HWCAP2``, from which XNNPACK picks its kernels; under qemu-user they are
the emulated core's). The command's own stdout and stderr pass through untouched.

Stdlib only besides ``firmware_py``: it runs in a device install, where torch must not exist.
"""

from __future__ import annotations

import ctypes
import json
import platform
import resource
import sys
import time
from pathlib import Path

# arm64 hwcap bits XNNPACK's kernel choice depends on (Linux arch/arm64/include/uapi/asm/hwcap.h)
HWCAP = {"asimdhp": 10, "asimddp": 20, "sve": 22}
HWCAP2 = {"sve2": 1, "i8mm": 13, "bf16": 14, "sme": 23, "sme2": 37}
AT_HWCAP, AT_HWCAP2 = 16, 26


def cpu_features() -> list[str]:
    if platform.machine() != "aarch64":
        return []
    getauxval = ctypes.CDLL(None).getauxval
    getauxval.restype = ctypes.c_ulong
    bits = getauxval(AT_HWCAP), getauxval(AT_HWCAP2)
    return [name for word, table in zip(bits, (HWCAP, HWCAP2), strict=True)
            for name, bit in table.items() if word >> bit & 1]


def torch_modules() -> list[str]:
    return sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))


def libtorch_mapped() -> list[str]:
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return []
    return sorted({line.split()[-1] for line in lines if "libtorch" in line})


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] != "--":
        print("usage: probe.py RECORD.json -- SPECKS_ARGS...", file=sys.stderr)
        return 2
    record, command = Path(argv[0]), argv[2:]
    from firmware_py.cli import main as specks

    start = time.monotonic()
    try:
        rc = specks(command)
    except SystemExit as exit_:  # argparse errors
        rc = exit_.code if isinstance(exit_.code, int) else 2
    sys.stdout.flush()
    record.write_text(json.dumps({
        "command": command,
        "rc": rc,
        "seconds": round(time.monotonic() - start, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_modules": torch_modules(),
        "libtorch_mapped": libtorch_mapped(),
        "machine": platform.machine(),
        "cpu_features": cpu_features(),
    }))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
