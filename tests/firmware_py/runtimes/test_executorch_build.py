"""Building the ExecuTorch shim: cached per source/package/machine, rebuilt when the source
changes, safe when processes race, and one clear line when the compiler or the package is
missing. Each build here is a real compile (a few seconds) into a fresh cache directory."""

from __future__ import annotations

import ctypes
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_py.device import load_trusted_keys
from firmware_py.pipeline.model import BundleModel
from firmware_py.runtimes import executorch_build
from firmware_py.runtimes.executorch import shim
from firmware_py.runtimes.executorch_build import ExecuTorchUnavailable, shim_library
from firmware_py.shipped import DEFAULT_BUNDLE, ZOO_KEYS

ROOT = Path(__file__).resolve().parents[3]
DETECTOR = DEFAULT_BUNDLE  # the shipped specknet-nano, from the package or the checkout


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPECKS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "executorch-shim"


def _built(caplog: pytest.LogCaptureFixture) -> int:
    return sum("building the ExecuTorch runner" in r.getMessage() for r in caplog.records)


def test_second_load_reuses_the_library_and_a_changed_source_rebuilds(
        cache, caplog, tmp_path, monkeypatch) -> None:
    caplog.set_level(logging.INFO, logger=executorch_build.__name__)
    first = shim_library()
    stamp = first.stat().st_mtime_ns
    assert shim_library() == first and first.stat().st_mtime_ns == stamp
    assert _built(caplog) == 1
    assert hasattr(ctypes.CDLL(str(first)), "specks_et_run")  # loads; exports the shim ABI

    changed = tmp_path / "executorch_shim.cpp"
    changed.write_text(executorch_build.SOURCE.read_text() + "\n// changed\n")
    monkeypatch.setattr(executorch_build, "SOURCE", changed)
    second = shim_library()
    assert second != first and second.exists() and first.exists()
    assert _built(caplog) == 2
    assert sorted(p.name for p in cache.glob("*.so")) == sorted([first.name, second.name])


def test_missing_compiler_is_one_line_naming_the_package(cache, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    with pytest.raises(ExecuTorchUnavailable, match=r"no C\+\+ compiler .*apt install g\+\+"):
        shim_library()


def test_a_failing_compiler_is_reported_and_leaves_nothing(cache, monkeypatch) -> None:
    monkeypatch.setenv("CXX", "false")
    with pytest.raises(ExecuTorchUnavailable, match="building the ExecuTorch runner .* failed"):
        shim_library()
    assert list(cache.iterdir()) == [] or all(p.suffix == ".lock" for p in cache.iterdir())


def test_missing_package_names_the_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "executorch", None)  # find_spec answers "not installed"
    with pytest.raises(ExecuTorchUnavailable,
                       match=r"pip install --no-deps executorch==1\.5\.1"):
        shim_library()


@pytest.fixture()
def unloaded_shim():
    """This process forgets the shim it loaded (``shim()`` is cached), before and after."""
    shim.cache_clear()
    yield
    shim.cache_clear()


def test_a_board_without_compiler_falls_back_to_litert(cache, tmp_path, monkeypatch, caplog,
                                                        unloaded_shim) -> None:
    """The error surfaces as for any runtime not installed: the next artifact runs, and the
    warning says what to install."""
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    model = BundleModel(DETECTOR, load_trusted_keys(ZOO_KEYS),
                        runtime="executorch", precision="int8")
    assert model.artifact.runtime == "litert"
    assert "apt install g++" in caplog.text


RACE = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
from firmware_py.runtimes.executorch import ExecuTorchRunner
runner = ExecuTorchRunner(sys.argv[1])
print("OUTPUTS", len(runner.outputs))
"""


@pytest.mark.slow
def test_racing_processes_build_once_and_both_run(cache, tmp_path) -> None:
    env = {**os.environ, "SPECKS_CACHE_DIR": str(cache.parent)}
    argv = [sys.executable, "-c", RACE, str(DETECTOR / "specknet-nano_int8.pte")]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=ROOT, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all("OUTPUTS 3" in out for out in outs)
    assert sum(out.count("building the ExecuTorch runner") for out in outs) == 1
    assert len(list(cache.glob("*.so"))) == 1 and not list(cache.glob(".*"))
