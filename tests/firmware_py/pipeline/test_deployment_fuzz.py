"""Fuzzing the sink and dashboard addresses of ``specks run`` (Hypothesis): ``--mqtt URL``,
``--udp HOST:PORT``, ``--jsonl PATH``, ``--dashboard HOST:PORT``, ``--stats-log`` and
``--power-budget`` are applied to the profile or refused in one line
(:class:`BoardConfigError` or ``ValueError``, which ``specks run`` prints before exiting 2);
never a traceback."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from firmware_py.board import BoardConfigError
from firmware_py.pipeline.deployment import DeploymentOptions, load_deployment
from tests.firmware_py.fuzz import FUZZ, one_line, typed
from tests.firmware_py.user_input import host_ports, mqtt_urls

maybe = st.none().__or__


@FUZZ
@given(st.builds(DeploymentOptions, jsonl=maybe(typed), udp=maybe(host_ports),
                 mqtt=maybe(mqtt_urls), dashboard=maybe(host_ports), stats_log=maybe(typed),
                 power_budget_w=maybe(st.floats(allow_nan=True, allow_infinity=True))))
def test_any_deployment_option_is_applied_or_refused_in_one_line(
        options: DeploymentOptions) -> None:
    one_line(lambda: load_deployment("x86-generic", (), options), (BoardConfigError, ValueError))


def test_a_port_of_non_ascii_digits_is_named() -> None:
    """Found while writing the fuzzer: ``--udp host:²`` passed ``isdigit`` and int() raised its
    own message, naming neither the option nor the form."""
    try:
        load_deployment("x86-generic", (), DeploymentOptions(udp="host:²"))
    except ValueError as error:
        assert str(error) == "--udp 'host:²': expected HOST:PORT"
    else:
        raise AssertionError("accepted")
