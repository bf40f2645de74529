"""The device half never imports torch, ``models`` or ``export`` (architecture.md), nor
matplotlib (``specks report`` is a host command): every firmware_py module is imported in a
fresh interpreter and the loaded modules are checked."""

import json
import subprocess
import sys

SCRIPT = """
import importlib, json, pkgutil, sys
import firmware_py
names = [m.name for m in pkgutil.walk_packages(firmware_py.__path__, "firmware_py.")]
for name in names:
    importlib.import_module(name)
FORBIDDEN = ("torch", "models", "export", "matplotlib")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
print(json.dumps({"imported": names, "forbidden": loaded}))
"""


def test_no_firmware_module_pulls_in_torch_matplotlib_or_the_host_packages() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["imported"]) > 20  # the walk really found the package's modules
    assert result["forbidden"] == []
