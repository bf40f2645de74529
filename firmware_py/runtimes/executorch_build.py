"""Build (once) and cache the ExecuTorch shim: ``executorch_shim.cpp`` compiled against the
installed ``executorch`` package into a shared library that ctypes loads.

The ExecuTorch Python runtime (``executorch.runtime``, ``_portable_lib``) links libtorch
(~750 MB installed); the wheel's ``lib/libexecutorch*.so`` do not, and the wheel ships their
headers (``include/executorch/...``). So a board installs the package alone
(``pip install --no-deps executorch==1.5.1``) plus a C++ compiler, and the shim is compiled
here on first use. Choices of ours:

- The package is found without importing it (``importlib.util.find_spec`` of a top-level
  name reads the path only; ``importlib.metadata`` gives the version), so torch never loads.
  Libraries are found by the package's layout (``include/``, ``lib/``), never by the machine:
  no ``-march`` or arch flags, the same build on x86 and arm64.
- Compiler: ``$CXX``, else ``c++``, else ``g++``. Flags: ``-std=c++17 -O2 -shared -fPIC``, the
  c10 include dir with ``-DC10_USING_CUSTOM_GENERATED_MACROS`` (the wheel's portable c10
  headers need it), an rpath to the package's ``lib/`` (the .so finds its libraries with no
  ``LD_LIBRARY_PATH``). Linked ``--no-as-needed``, as nothing references them by symbol (each
  registers itself with the runtime when loaded): the XNNPACK backend, and the kernel
  libraries the Python runtime also loads for ops left outside the delegate (the optimized
  ATen kernels with their portable fallbacks, and the quantized_decomposed ones); together
  under 1 MB of RSS more than the backend alone.
- Cache: ``$SPECKS_CACHE_DIR``, else ``$XDG_CACHE_HOME/specks``, else ``~/.cache/specks``,
  under ``executorch-shim/``; the file name carries the executorch version, the machine
  (``platform.machine()``) and a hash of the shim source, the compile flags and the
  package's path, so any change of those builds a new one (a cached library needs no
  compiler). A build holds an ``flock`` on a
  lock file (a racing process waits, then finds the library) and writes to a temporary file
  renamed into place (a killed build never leaves a half-written library).
- A missing package or compiler raises :class:`ExecuTorchUnavailable` (an ``ImportError``, as
  for any runtime that is not installed) with one line naming what to install.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("executorch_shim.cpp")
PINNED = "executorch==1.5.1"
# the wheel's libraries the shim needs, none linking libtorch
LIBRARIES = ("executorch", "executorch_threadpool", "executorch_backend_xnnpack",
             "executorch_kernels_optimized", "executorch_kernels_quantized")


class ExecuTorchUnavailable(ImportError):
    """The ExecuTorch shim cannot be built here (package or compiler missing, build failed)."""


@dataclass(frozen=True)
class Package:
    """The installed ``executorch`` package: its directory and version."""

    root: Path
    version: str

    @property
    def include(self) -> Path:
        return self.root / "include"

    @property
    def lib(self) -> Path:
        return self.root / "lib"


def find_package() -> Package:
    """The installed ``executorch`` package, found without importing it (nor torch)."""
    spec = importlib.util.find_spec("executorch")
    if spec is None or not spec.submodule_search_locations:
        raise ExecuTorchUnavailable(f"executorch is not installed: pip install --no-deps {PINNED}")
    package = Package(Path(next(iter(spec.submodule_search_locations))),
                      importlib.metadata.version("executorch"))
    missing = [str(p) for p in (package.include / "executorch",
                                *(package.lib / f"lib{name}.so" for name in LIBRARIES))
               if not p.exists()]
    if missing:
        raise ExecuTorchUnavailable(f"executorch {package.version} at {package.root} lacks "
                                    f"{', '.join(missing)}: pip install --no-deps {PINNED}")
    return package


def find_compiler() -> str:
    """``$CXX``, else ``c++``, else ``g++``: the path of the first found."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["c++", "g++"]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise ExecuTorchUnavailable(f"no C++ compiler ({' or '.join(names)} not found) to build the "
                                "ExecuTorch runner: apt install g++ (or set CXX)")


def compile_command(compiler: str, package: Package, output: Path) -> list[str]:
    """The command that builds the shim from :data:`SOURCE` into ``output``."""
    c10 = package.include / "executorch/runtime/core/portable_type/c10"
    return [compiler, "-std=c++17", "-O2", "-shared", "-fPIC",
            f"-I{package.include}", f"-I{c10}", "-DC10_USING_CUSTOM_GENERATED_MACROS",
            str(SOURCE), "-o", str(output), f"-L{package.lib}", f"-Wl,-rpath,{package.lib}",
            "-Wl,--no-undefined", "-Wl,--no-as-needed",
            *(f"-l{name}" for name in LIBRARIES), "-Wl,--as-needed"]


def cache_dir() -> Path:
    """Where built shims are kept."""
    if os.environ.get("SPECKS_CACHE_DIR"):
        root = Path(os.environ["SPECKS_CACHE_DIR"])
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "specks"
    return root / "executorch-shim"


def library_path(package: Package) -> Path:
    """The cached library's path for this source, package, machine and compile flags."""
    key = hashlib.sha256(SOURCE.read_bytes())
    key.update("\0".join(compile_command("", package, Path("out.so"))[1:]).encode())
    return cache_dir() / (f"specks_et_{package.version}_{platform.machine()}_"
                          f"{key.hexdigest()[:16]}.so")


def _compile(compiler: str, package: Package, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".so", dir=target.parent)
    os.close(fd)
    command = compile_command(compiler, package, Path(tmp))
    log.info("building the ExecuTorch runner: %s", " ".join(command))
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.splitlines() if "error" in ln] or \
                    done.stderr.splitlines()[-1:]
            raise ExecuTorchUnavailable(f"building the ExecuTorch runner against executorch "
                                        f"{package.version} failed ({compiler}): "
                                        f"{lines[0] if lines else done.returncode}")
        os.chmod(tmp, 0o755)  # mkstemp's 0600 would hide it from other users of the cache
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def shim_library() -> Path:
    """The built shim for the installed executorch, compiled first if not cached."""
    package = find_package()
    target = library_path(package)
    if target.exists():
        return target
    compiler = find_compiler()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / f"{target.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not target.exists():  # another process may have built it while we waited
                _compile(compiler, package, target)
    except OSError as error:
        raise ExecuTorchUnavailable(f"cannot write the ExecuTorch runner to {target.parent} "
                                    f"({error}); set SPECKS_CACHE_DIR to a writable "
                                    "directory") from None
    return target
