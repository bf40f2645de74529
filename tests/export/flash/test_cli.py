"""``specks flash`` through the real command-line entry point."""

from __future__ import annotations

import json

import yaml

from firmware_py.cli import main
from firmware_py.device.slots import Layout, bundle_version


def test_flash_to_a_local_root(tmp_path, flash_bundles, capsys) -> None:
    root = tmp_path / "device"
    code = main(["flash", str(flash_bundles["v1"]), "--to", str(root), "--board",
                 "x86-generic", "--trusted-keys", str(flash_bundles["keys"]), "--json"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and line["result"] == "installed" and line["host"] == str(root)
    assert bundle_version(Layout(root).current) == line["new"]


def test_fleet_exit_code_reflects_any_failure(tmp_path, flash_bundles, capsys) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({"hosts": [
        {"name": "good", "dest": str(tmp_path / "good"), "board": "x86-generic"},
        {"name": "no-board", "dest": str(tmp_path / "no-board")}]}))
    code = main(["flash", str(flash_bundles["v1"]), "--fleet", str(fleet), "--trusted-keys",
                 str(flash_bundles["keys"]), "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [(r["host"], r["result"]) for r in lines] == [("good", "installed"),
                                                         ("no-board", "refused")]
    assert "no board profile" in lines[1]["message"]


def test_bad_fleet_file_exits_2(tmp_path, flash_bundles) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("hosts: 3\n")
    assert main(["flash", str(flash_bundles["v1"]), "--fleet", str(fleet)]) == 2
