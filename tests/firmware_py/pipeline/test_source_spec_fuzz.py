"""Fuzzing ``specks run --source`` (Hypothesis): any string is a source config or one
``ValueError`` line naming the ``--source`` (what ``specks run`` prints before exiting 2);
never a traceback nor pydantic's multi-line dump."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from firmware_py.board import load_board
from firmware_py.pipeline.source_spec import describe, source_config
from tests.firmware_py.fuzz import FUZZ, one_line
from tests.firmware_py.user_input import source_specs

CAMERAS = {name: load_board(name).camera for name in ("x86-generic", "rpi5")}
@FUZZ
@given(source_specs, st.sampled_from(sorted(CAMERAS)), st.booleans())
def test_any_source_is_parsed_or_refused_in_one_line(spec: str, board: str, loop: bool) -> None:
    config = one_line(lambda: source_config(spec, CAMERAS[board], loop), ValueError)
    if config is not None:
        assert describe(config).startswith(f"{config.type}:")


def test_a_spec_the_config_refuses_is_one_line_naming_the_field() -> None:
    """Found by the fuzzer: ``rtsp://`` or ``picamera2:9`` printed pydantic's dump."""
    for spec, field in (("rtsp://", "url field 'url'"),
                        ("picamera2:9", "picamera2 field 'camera_num'"),
                        ("a ! b", "gstreamer field 'pipeline'")):
        try:
            source_config(spec, CAMERAS["x86-generic"])
        except ValueError as error:
            assert str(error).startswith(f"--source {spec!r}: {field}: "), error
            assert "\n" not in str(error)
        else:
            raise AssertionError(f"{spec!r} was accepted")
