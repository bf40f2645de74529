"""``specks device install|status``, ``specks selftest`` and ``specks rollback`` through the
real command-line entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from firmware_py.cli import main


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_install_status_selftest_rollback(root: Path, bundles, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SPECKS_TRUSTED_KEYS", str(bundles["keys"]))
    monkeypatch.setenv("SPECKS_ROOT", str(root))
    code, out = run(capsys, "device", "install", str(bundles["v1"]), "--board", "x86-generic",
                    "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["result"] == "installed"
    code, out = run(capsys, "device", "install", str(bundles["v2"]), "--json")
    assert code == 0 and json.loads(out)["slot"] == "b"

    code, out = run(capsys, "device", "status", "--json")
    status = json.loads(out)
    assert (status["current"], status["previous"], status["board"]) == ("b", "a",
                                                                          "x86-generic")
    assert status["last_install"]["result"] == "installed"
    code, out = run(capsys, "device", "status")
    assert "slot b    current" in out and "slot a    previous" in out

    code, out = run(capsys, "selftest")
    assert code == 0 and out.startswith("passed")

    code, out = run(capsys, "rollback", "--json")
    assert code == 0 and json.loads(out)["slot"] == "a"


def test_refusal_exits_1_with_the_reason(root: Path, bundles, tmp_path, capsys) -> None:
    keys = tmp_path / "other-keys"
    keys.mkdir()
    (keys / "k.pub").write_bytes(b"not a key")
    code, out = run(capsys, "device", "install", str(bundles["v1"]), "--root", str(root),
                    "--trusted-keys", str(keys), "--board", "x86-generic")
    assert code == 1 and "refused" in out and "k.pub: not a PEM public key" in out


def test_staged_copy_is_removed_only_under_staging(root: Path, bundles, capsys) -> None:
    staged = root / "staging" / "v1"
    staged.parent.mkdir(parents=True)
    subprocess.run(["cp", "-r", str(bundles["v1"]), str(staged)], check=True)
    code, _ = run(capsys, "device", "install", str(staged), "--root", str(root),
                  "--trusted-keys", str(bundles["keys"]), "--board", "x86-generic",
                  "--remove-staged")
    assert code == 0 and not staged.exists()
    code, _ = run(capsys, "device", "install", str(bundles["v2"]), "--root", str(root),
                  "--trusted-keys", str(bundles["keys"]), "--remove-staged")
    assert code == 0 and bundles["v2"].is_dir()


def test_bad_arguments_exit_2() -> None:
    done = subprocess.run([sys.executable, "-m", "firmware_py.cli", "device", "install", "x",
                           "--runtimes", "onnx"], capture_output=True, text=True)
    assert done.returncode == 2 and "choose from litert,executorch" in done.stderr
