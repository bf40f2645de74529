"""The dashboard's config, and the rule that keeps it off the network without a token.

Bound to a loopback address the dashboard is reachable only from the board itself (or through
an SSH tunnel), so a token is optional there. Bound to any other address (a LAN address, a
hostname, ``0.0.0.0`` or ``::``) it refuses to start without one. The token is a bearer token
(RFC 6750): sent as ``Authorization: Bearer <token>`` (section 2.1) or as the ``token`` query
parameter, the form a browser's ``EventSource`` and the address bar can carry (section 2.3
calls it ``access_token``; this dashboard uses the shorter name). Its characters are RFC
6750's ``b64token`` alphabet, so it needs no escaping in a header or a URL.

The board profile's ``dashboard`` section is :class:`DashboardSettings`, every field but the
token: a profile is readable by every user of the board, so the token comes from
``$SPECKS_DASHBOARD_TOKEN`` only (``specks.service`` reads it from ``/etc/specks/specks.env``)
and :func:`dashboard_config` joins the two, where the rule above is checked.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError, model_validator

from firmware_py.sinks import SinkConfig

TOKEN_ENV = "SPECKS_DASHBOARD_TOKEN"
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """True for a loopback address (``127.0.0.0/8``, ``::1``) or a name that always means one.
    Any other name may resolve to a routable address, so it is not loopback."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DashboardSettings(SinkConfig):
    """The dashboard's settings, as a board profile holds them (no token)."""

    host: str = Field("127.0.0.1", min_length=1, max_length=253,
                      description="address to bind; anything but loopback requires a token")
    port: int = Field(8080, ge=0, le=65535, description="TCP port; 0 picks a free one")
    jpeg_quality: int = Field(75, ge=10, le=100, description="JPEG quality of the live stream")
    max_fps: float = Field(10.0, gt=0.0, le=60.0,
                           description="most frames per second encoded for the live stream")
    max_width: int = Field(1280, ge=160, le=8192,
                           description="wider frames are downscaled to this width before the "
                           "boxes are drawn and the frame is encoded")
    history: int = Field(300, ge=10, le=100_000,
                         description="newest stats snapshots kept for the charts, one point each")
    event_queue: int = Field(64, ge=1, le=10_000,
                             description="events queued per SSE client; the oldest are dropped "
                             "when a client falls behind")
    max_clients: int = Field(16, ge=1, le=1024,
                             description="concurrent clients per stream (/events, "
                             "/stream.mjpg); more get 503")

    @model_validator(mode="before")
    @classmethod
    def _token_not_in_a_profile(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "token" in data and "token" not in cls.model_fields:
            raise ValueError(f"token: not read from a profile (every user can read it); set "
                             f"${TOKEN_ENV} (for specks.service: /etc/specks/specks.env)")
        return data


class DashboardConfig(DashboardSettings):
    """The settings and the bearer token: what a running :class:`Dashboard` uses."""

    token: str | None = Field(None, min_length=16, max_length=256,
                              pattern=r"^[A-Za-z0-9._~+/-]+=*$",
                              description="bearer token required on every endpoint but "
                              "/healthz (?token= or Authorization: Bearer); required when "
                              "host is not loopback")

    @model_validator(mode="after")
    def _token_off_loopback(self) -> DashboardConfig:
        if self.token is None and not is_loopback(self.host):
            raise ValueError(f"token: required when host {self.host!r} is not a loopback "
                             "address (anyone on the network could watch the camera); set "
                             f"${TOKEN_ENV}, or bind host 127.0.0.1 and use an SSH tunnel")
        return self


def dashboard_config(settings: DashboardSettings,
                     environ: Mapping[str, str] = os.environ) -> DashboardConfig:
    """The running dashboard's config: the profile's settings and ``$SPECKS_DASHBOARD_TOKEN``
    (``ValueError`` when the host is not loopback and there is no token)."""
    try:
        return DashboardConfig(**settings.model_dump(), token=environ.get(TOKEN_ENV) or None)
    except ValidationError as error:
        item = error.errors()[0]
        field = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if field == "token":
            message = (f"${TOKEN_ENV}: {message} (16-256 characters of A-Z a-z 0-9 . _ ~ + "
                       "/ -)")
        raise ValueError(f"dashboard: {message}") from None
