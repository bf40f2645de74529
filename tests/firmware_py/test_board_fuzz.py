"""Fuzzing the board profile parsers (Hypothesis): the YAML file a user edits and the
``--set key=value`` overrides are accepted or refused with one :class:`BoardConfigError` line
naming the file, field or ``--set``; never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from firmware_py.board import BoardConfig, BoardConfigError, load_board
from tests.firmware_py.fuzz import FUZZ, edited, one_line, typed
from tests.firmware_py.user_input import PROFILE, overrides

edited_profiles = edited(PROFILE, ("type", "x", "budget_w", "port"))


def _load(text: str | bytes, sets: list[str] = ()) -> BoardConfig | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mine.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return one_line(lambda: load_board(str(path), sets), BoardConfigError)


@FUZZ
@given(edited_profiles)
def test_an_edited_profile_is_loaded_or_refused_in_one_line(tree: dict) -> None:
    _load(yaml.safe_dump(tree))


@FUZZ
@given(typed | st.binary(max_size=60))
def test_any_profile_text_is_loaded_or_refused_in_one_line(text: str | bytes) -> None:
    _load(text)


@FUZZ
@given(overrides)
def test_any_set_is_applied_or_refused_in_one_line(sets: list[str]) -> None:
    one_line(lambda: load_board("x86-generic", sets), BoardConfigError)


def test_a_set_of_a_field_inside_a_value_is_named() -> None:
    """Found by the fuzzer: ``--set a=1 --set a.b=2`` raised TypeError."""
    error = _raised(["runtime=1", "runtime.threads=2"])
    assert "--set 'runtime.threads=2'" in error and "'runtime' is given a value" in error


def test_a_set_value_that_is_not_yaml_is_named() -> None:
    """Found by the fuzzer: a value such as ``[`` raised yaml's ParserError."""
    error = _raised(["runtime.threads=["])
    assert error.startswith("--set 'runtime.threads=['") and "not valid YAML (line 1" in error


def _raised(sets: list[str]) -> str:
    try:
        load_board("x86-generic", sets)
    except BoardConfigError as error:
        return str(error)
    raise AssertionError(f"{sets} was accepted")


@FUZZ
@given(st.sampled_from(["", "rpi5", "x86-generic", "/tmp/", "board_configs/"]).flatmap(
    lambda prefix: typed.map(lambda rest: prefix + rest)))
def test_any_board_name_is_found_or_refused_in_one_line(name: str) -> None:
    one_line(lambda: load_board(name), BoardConfigError)


def test_a_profile_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """Found by the fuzzer: a profile of bytes such as ``\\x80`` raised UnicodeDecodeError."""
    (tmp_path / "mine.yaml").write_bytes(b"name: x\n\x80\n")
    try:
        load_board(str(tmp_path / "mine.yaml"))
    except BoardConfigError as error:
        assert str(error) == f"{tmp_path / 'mine.yaml'}: not UTF-8 text (invalid start byte " \
            "at byte 8)"
    else:
        raise AssertionError("accepted")
