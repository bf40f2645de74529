"""The token rule: loopback may go without one, any other address may not."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from firmware_py.dashboard.config import DashboardConfig, is_loopback

TOKEN = "abcdefghijklmnop0123"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)
    assert DashboardConfig(host=host).token is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "raspberrypi",
                                  "dashboard.example.org"])
def test_other_hosts_refuse_to_start_without_a_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ValidationError, match="token: required when host") as error:
        DashboardConfig(host=host)
    assert host in str(error.value)
    assert DashboardConfig(host=host, token=TOKEN).token == TOKEN


@pytest.mark.parametrize("token", ["short", "has space in it 123", "semi;colon-0123456789",
                                   "a" * 257])
def test_tokens_outside_rfc6750_b64token_are_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="token"):
        DashboardConfig(token=token)


def test_unknown_fields_and_out_of_range_values_are_named() -> None:
    with pytest.raises(ValidationError, match="colour"):
        DashboardConfig.model_validate({"colour": "red"})
    with pytest.raises(ValidationError, match="max_fps"):
        DashboardConfig(max_fps=0)
    with pytest.raises(ValidationError, match="port"):
        DashboardConfig(port=70000)
