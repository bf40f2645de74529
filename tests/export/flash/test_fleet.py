"""Fleets: the fleet.yaml schema, and a parallel flash of several targets behind a real sshd
plus a local one, where a failing host does not stop the others."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from export.flash.fleet import (
    Fleet,
    FleetError,
    flash_fleet,
    host_options,
    load_fleet,
    results_table,
)
from firmware_py.device.slots import Layout, bundle_version
from tests.export.flash.conftest import SPECKS


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("data,message", [
    ({"hosts": []}, "field 'hosts'"),
    ({"hosts": [{"name": "a"}]}, "field 'hosts.0.dest'"),
    ({"hosts": [{"name": "a", "dest": "/x", "bord": "rpi5"}]}, "field 'hosts.0.bord'"),
    ({"hosts": [{"name": "a", "dest": "/x"}, {"name": "a", "dest": "/y"}]}, "appears twice"),
    ({"defaults": {"health_timeout": -1}, "hosts": [{"name": "a", "dest": "/x"}]},
     "field 'defaults.health_timeout'"),
    ("hosts: [unclosed", "not valid YAML"),
])
def test_bad_fleet_files_name_the_field(tmp_path, data, message) -> None:
    path = write(tmp_path, data)
    with pytest.raises(FleetError, match=message) as error:
        load_fleet(path)
    assert str(path) in str(error.value)


def test_option_precedence() -> None:
    fleet = Fleet.model_validate({
        "defaults": {"specks": "/fleet/specks", "health_timeout": 5, "board": "rpi4"},
        "hosts": [{"name": "a", "dest": "/x", "board": "rpi5"}, {"name": "b", "dest": "/y"}]})
    a = host_options(fleet, fleet.hosts[0], {"specks": "/cli/specks"})
    b = host_options(fleet, fleet.hosts[1], {})
    assert (a.board, a.specks, a.health_timeout) == ("rpi5", "/cli/specks", 5)
    assert (b.board, b.specks, b.restart) == ("rpi4", "/fleet/specks", True)


def test_fleet_flash_in_parallel_with_one_bad_host(tmp_path, sshd, flash_bundles) -> None:
    roots = [tmp_path / f"board{i}" for i in range(3)]
    hosts = [{"name": f"ssh-{i}", "dest": sshd.url(roots[i]), "board": "x86-generic"}
             for i in range(2)]
    hosts.append({"name": "local", "dest": str(roots[2]), "board": "x86-generic"})
    hosts.append({"name": "down", "dest": f"ssh://root@127.0.0.1:1{tmp_path}/down"})
    path = write(tmp_path, {"parallel": 4, "hosts": hosts, "defaults": {
        "specks": SPECKS, "trusted_keys": str(flash_bundles["keys"]), "restart": False,
        "ssh_config": str(sshd.client_config)}})
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    results = flash_fleet(flash_bundles["v1"], load_fleet(path), console=console)
    assert [h.name for h, _ in results] == ["ssh-0", "ssh-1", "local", "down"]
    assert [r.result for _, r in results] == ["installed"] * 3 + ["failed"]
    assert "Connection refused" in results[3][1].message
    new = bundle_version(flash_bundles["v1"])
    assert all(bundle_version(Layout(root).current) == new for root in roots)

    console.print(results_table(results))
    table = out.getvalue()
    for name in ("ssh-0", "ssh-1", "local", "down"):
        assert name in table
    assert f"- -> {new}" in table
