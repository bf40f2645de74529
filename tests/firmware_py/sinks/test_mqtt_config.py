"""MqttConfig's TLS fields, default ports and credentials: what a profile may hold, and the
one-line errors for what it may not (the broker-facing behaviour is in test_mqtt_tls.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from firmware_py.sinks.mqtt_config import MqttConfig, credentials, tls_context
from tests.firmware_py.sinks.tls import make_pki


def test_the_port_follows_the_transport_unless_given() -> None:
    assert MqttConfig().broker_port == 1883
    assert MqttConfig(tls=True).broker_port == 8883
    assert MqttConfig(tls=True, port=8884).broker_port == 8884


def test_a_password_in_a_profile_is_refused_with_where_it_goes() -> None:
    with pytest.raises(ValidationError, match="SPECKS_MQTT_PASSWORD") as error:
        MqttConfig.model_validate({"username": "cam", "password": "hunter2"})
    message = error.value.errors()[0]["msg"]  # what the profile loader prints
    assert "password_file" in message and "hunter2" not in message


@pytest.mark.parametrize(("fields", "message"), [
    ({"tls": True, "cert_file": "c.pem"}, "cert_file and key_file"),
    ({"ca_file": "ca.pem"}, "ca_file set but tls is false"),
    ({"tls": True, "qos": 0}, "qos"),
])
def test_inconsistent_tls_fields_are_named(fields, message) -> None:
    with pytest.raises(ValidationError, match=message):
        MqttConfig(**fields)


def test_tls_context_loads_the_ca_and_client_certificate_or_names_the_file(tmp_path) -> None:
    pki = make_pki(tmp_path / "pki")
    assert tls_context(MqttConfig()) is None
    context = tls_context(MqttConfig(tls=True, ca_file=str(pki / "ca.pem"),
                                     cert_file=str(pki / "client.pem"),
                                     key_file=str(pki / "client.key")))
    assert context is not None and context.check_hostname
    with pytest.raises(ValueError, match=r"ca_file .*missing\.pem"):
        tls_context(MqttConfig(tls=True, ca_file=str(tmp_path / "missing.pem")))
    with pytest.raises(ValueError, match=r"cert_file .*ca\.pem"):  # a certificate, no key
        tls_context(MqttConfig(tls=True, cert_file=str(pki / "ca.pem"),
                               key_file=str(pki / "ca.pem")))


def test_credentials_come_from_the_environment_first_then_the_password_file(tmp_path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from file\nignored second line\n")
    config = MqttConfig(username="profile-user", password_file=str(secret))
    assert credentials(config, {}) == ("profile-user", "from file")
    env = {"SPECKS_MQTT_USERNAME": "env-user", "SPECKS_MQTT_PASSWORD": "from env"}
    assert credentials(config, env) == ("env-user", "from env")
    assert credentials(MqttConfig(), {}) == (None, None)


def test_credential_errors_name_the_problem(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"password_file .*nope: cannot read"):
        credentials(MqttConfig(username="u", password_file=str(tmp_path / "nope")), {})
    with pytest.raises(ValueError, match="no user name"):
        credentials(MqttConfig(), {"SPECKS_MQTT_PASSWORD": "x"})
