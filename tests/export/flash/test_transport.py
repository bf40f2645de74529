"""Destinations and the OpenSSH transport against a real sshd on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.flash.transport import LocalTarget, Ssh, SshTarget, TransportError, parse_target


@pytest.mark.parametrize("dest,expected", [
    ("ssh://pi@board.local/opt/specks", SshTarget("board.local", "/opt/specks", "pi", None)),
    ("ssh://board:2222", SshTarget("board", "/opt/specks", None, 2222)),
    ("ssh://me@[::1]:22/srv/specks", SshTarget("::1", "/srv/specks", "me", 22)),
    ("/media/sd/rootfs", LocalTarget(Path("/media/sd/rootfs"))),
])
def test_parse_target(dest: str, expected) -> None:
    assert parse_target(dest) == expected


def test_ipv6_hosts_are_bracketed_for_copies() -> None:
    assert parse_target("ssh://me@[::1]/x").copy_login == "me@[::1]"


@pytest.mark.parametrize("dest,message", [
    ("http://host/x", "unsupported scheme"),
    ("ssh:///opt/specks", "no valid host"),
    ("ssh://-oProxyCommand=touch%20x/opt", "no valid host"),
    ("ssh://host:99999/x", "invalid port"),
])
def test_bad_destinations_are_named(dest: str, message: str) -> None:
    with pytest.raises(TransportError, match=message):
        parse_target(dest)


def _ssh(sshd, **kw) -> Ssh:
    return Ssh(parse_target(sshd.url("/tmp")), str(sshd.client_config), **kw)


@pytest.mark.parametrize("method", ["rsync", "scp"])
def test_copy_dir_reproduces_the_tree(sshd, flash_bundles, tmp_path, method) -> None:
    remote = tmp_path / method / "staged"
    remote.parent.mkdir()
    _ssh(sshd).copy_dir(flash_bundles["v1"], str(remote), method, timeout=60)
    sent = {p.relative_to(flash_bundles["v1"]): p.read_bytes()
            for p in flash_bundles["v1"].rglob("*") if p.is_file()}
    got = {p.relative_to(remote): p.read_bytes() for p in remote.rglob("*") if p.is_file()}
    assert got == sent


def test_remote_command_quoting(sshd, tmp_path) -> None:
    odd = tmp_path / "a dir; with $(odd) 'chars'"
    _ssh(sshd).check(["mkdir", "-p", str(odd)], timeout=30)
    assert odd.is_dir()


def test_failures_carry_the_tools_message(sshd, tmp_path) -> None:
    with pytest.raises(TransportError, match="No such file"):
        _ssh(sshd).check(["ls", str(tmp_path / "missing")], timeout=30)


def test_unknown_host_key_is_refused(sshd, tmp_path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    ssh = _ssh(sshd, options=(f"UserKnownHostsFile={known}",))
    with pytest.raises(TransportError, match="exit 255.*(verification failed|No .* host key)"):
        ssh.check(["true"], timeout=30)
