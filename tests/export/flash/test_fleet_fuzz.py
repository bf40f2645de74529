"""Fuzzing the fleet file parser (Hypothesis): a ``fleet.yaml`` with fields changed, added or
of the wrong type, or any text or bytes at all, is accepted or refused with one
:class:`FleetError` line naming the file; never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from export.flash.fleet import Fleet, FleetError, load_fleet
from tests.firmware_py.fuzz import FUZZ, edited, one_line, typed

VALID = {"parallel": 4, "defaults": {"specks": "/opt/specks/venv/bin/specks",
                                     "ssh_options": ["User=pi"]},
         "hosts": [{"name": "pi-garden", "dest": "ssh://pi@10.0.0.21/opt/specks",
                    "board": "rpi5"},
                   {"name": "sd-card", "dest": "/media/me/rootfs", "board": "rpi-zero2w"}]}


def _check(content: bytes) -> Fleet | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.yaml"
        path.write_bytes(content)
        return one_line(lambda: load_fleet(path), FleetError)


def test_the_example_is_valid() -> None:
    fleet = _check(yaml.safe_dump(VALID).encode())
    assert fleet is not None and [h.name for h in fleet.hosts] == ["pi-garden", "sd-card"]


@FUZZ
@given(edited(VALID, ("name", "dest", "board", "hosts", "parallel", "health_timeout")))
def test_an_edited_fleet_file_loads_or_is_refused_in_one_line(tree: dict) -> None:
    _check(yaml.safe_dump(tree).encode())


@FUZZ
@given(typed | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_loads_or_is_refused_in_one_line(text: str) -> None:
    _check(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_load_or_are_refused_in_one_line(data: bytes) -> None:
    _check(data)
