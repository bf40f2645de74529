"""The ``mqtt`` sink's config (a board profile's ``sinks.mqtt``), its TLS context and its
credentials.

TLS (``tls: true``, or ``mqtts://`` on the command line): the broker's certificate is verified
against ``ca_file`` (PEM; default: the system's CAs) and its host name, per
``ssl.create_default_context``; a client certificate (``cert_file`` + ``key_file``) is sent
when the broker asks for one (mosquitto's ``require_certificate``). The port defaults to 1883,
or 8883 with TLS (IANA's ``secure-mqtt``).

Credentials never sit in argv (visible to every user in ``ps``) nor in the profile (world
readable under ``/etc/specks/boards``): the user name is ``$SPECKS_MQTT_USERNAME`` or the
profile's ``username``; the password is ``$SPECKS_MQTT_PASSWORD`` or the first line of
``password_file`` (a file only the service user reads). Under ``specks.service`` both
variables come from ``/etc/specks/specks.env`` (the unit's ``EnvironmentFile``). The
environment wins over the profile, so one profile serves a fleet with per-device secrets.

``ssl`` is imported only to build a context: every board profile reads this schema, and most
runs never open TLS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from firmware_py.sinks import SinkConfig

if TYPE_CHECKING:
    import ssl

USERNAME_ENV = "SPECKS_MQTT_USERNAME"
PASSWORD_ENV = "SPECKS_MQTT_PASSWORD"
PORTS = {False: 1883, True: 8883}
PASSWORD_HELP = (f"put it in ${PASSWORD_ENV} (for specks.service: /etc/specks/specks.env) or "
                 "in a file named by sinks.mqtt.password_file")


class MqttConfig(SinkConfig):
    type: Literal["mqtt"] = "mqtt"
    host: str = Field("127.0.0.1", min_length=1, max_length=253, description="broker host")
    port: int | None = Field(None, ge=1, le=65535, description="broker TCP port; null = 1883, "
                             "or 8883 with TLS")
    device: str = Field("specks", pattern=r"^[^/#+\s]+$", min_length=1, max_length=64,
                        description="device name, the topic level after the prefix (specks "
                        "run: the board's device_id unless set here)")
    topic_prefix: str = Field("specks", pattern=r"^[^#+\s]+$", min_length=1, max_length=128,
                              description="first topic level(s)")
    client_id: str = Field("", max_length=128,
                           description="MQTT client id; empty means 'specks-<device>'")
    username: str | None = Field(None, min_length=1, max_length=256, description="broker user "
                                 f"(${USERNAME_ENV} wins); null = anonymous")
    password_file: str | None = Field(None, min_length=1, max_length=4096, description="file "
                                      f"whose first line is the password (${PASSWORD_ENV} "
                                      "wins); never put the password itself in the profile")
    tls: bool = Field(False, description="TLS to the broker, certificate and host name "
                      "verified (mqtts://)")
    ca_file: str | None = Field(None, min_length=1, max_length=4096, description="PEM CA "
                                "certificates that sign the broker's; null = the system's")
    cert_file: str | None = Field(None, min_length=1, max_length=4096, description="PEM client "
                                  "certificate, for brokers that require one (with key_file)")
    key_file: str | None = Field(None, min_length=1, max_length=4096, description="PEM private "
                                 "key of cert_file, unencrypted")
    qos: int = Field(1, ge=1, le=2, description="QoS of detections and stats (1 or 2)")
    keepalive_s: int = Field(15, ge=2, le=3600,
                             description="MQTT keepalive; a dead link is noticed within 1.5x")
    connect_timeout_s: float = Field(5.0, gt=0, le=120,
                                     description="TCP connect plus CONNACK wait")
    reconnect_min_s: float = Field(0.5, gt=0, le=600, description="first reconnect delay")
    reconnect_max_s: float = Field(30.0, gt=0, le=3600, description="reconnect delay cap")
    inflight: int = Field(20, ge=1, le=1000, description="unacknowledged publishes at once")
    resend_acked: int = Field(100, ge=0, le=10_000, description="after a reconnect, send the "
                              "last this many acknowledged messages again first: what a broker "
                              "that died acknowledged but had not yet delivered is not lost "
                              "(consumers drop repeats by (run_id, seq)); 0 = never")
    spool_path: str = Field("spool/mqtt.sqlite3", min_length=1, max_length=4096,
                            description="on-disk queue file (SQLite), kept across restarts; "
                            "relative to the working directory (the device root under "
                            "specks.service)")
    spool_max_messages: int = Field(100_000, ge=1, le=100_000_000,
                                    description="queue bound in messages; oldest dropped")
    spool_max_bytes: int = Field(64 * 2**20, ge=1024, le=2**40,
                                 description="queue bound in payload bytes; oldest dropped")
    spool_durable: bool = Field(False, description="fsync every queue write (power-cut safe, "
                                "slower, wears SD cards)")
    flush_timeout_s: float = Field(2.0, ge=0, le=600,
                                   description="on close, wait this long to deliver the queue")

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "password" in data:
            raise ValueError(f"password: not read from a profile; {PASSWORD_HELP}")
        return data

    @model_validator(mode="after")
    def _tls_files(self) -> MqttConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file: give both (a client certificate and its "
                             "key) or neither")
        named = [n for n in ("ca_file", "cert_file", "key_file") if getattr(self, n)]
        if named and not self.tls:
            raise ValueError(f"{', '.join(named)} set but tls is false: set tls: true (or use "
                             "an mqtts:// URL)")
        return self

    @property
    def broker_port(self) -> int:
        """The port to connect to: ``port``, else the default of the transport."""
        return self.port or PORTS[self.tls]

    @property
    def topics(self) -> dict[str, str]:
        base = f"{self.topic_prefix}/{self.device}"
        return {kind: f"{base}/{kind}" for kind in ("detections", "stats", "availability")}


def tls_context(config: MqttConfig) -> ssl.SSLContext | None:
    """The client's TLS context (None without TLS); ``ValueError`` names the file it could not
    load."""
    if not config.tls:
        return None
    import ssl

    try:
        context = ssl.create_default_context(cafile=config.ca_file)
    except (OSError, ssl.SSLError) as e:
        raise ValueError(f"sinks.mqtt.ca_file {config.ca_file}: cannot load CA certificates: "
                         f"{e}") from None
    if config.cert_file is not None:
        try:
            context.load_cert_chain(config.cert_file, config.key_file)
        except (OSError, ssl.SSLError) as e:
            raise ValueError(f"sinks.mqtt.cert_file {config.cert_file} / key_file "
                             f"{config.key_file}: cannot load the client certificate: {e}") \
                from None
    return context


def credentials(config: MqttConfig, environ: Mapping[str, str] = os.environ
                ) -> tuple[str | None, str | None]:
    """``(username, password)`` from the environment, else the profile and its password file;
    ``ValueError`` names what is wrong."""
    username = environ.get(USERNAME_ENV) or config.username
    password = environ.get(PASSWORD_ENV)
    if password is None and config.password_file is not None:
        try:
            lines = Path(config.password_file).read_text().splitlines()
        except OSError as e:
            raise ValueError(f"sinks.mqtt.password_file {config.password_file}: cannot read: "
                             f"{e.strerror or e}") from None
        password = lines[0] if lines else ""
    if password is not None and username is None:
        raise ValueError(f"MQTT password given but no user name: set ${USERNAME_ENV} or "
                         "sinks.mqtt.username")
    return username, password
