"""The MQTT sink over TLS and with credentials, against a real mosquitto with a test CA
(:mod:`.tls`): the broker's certificate verified against the CA file, a client certificate
where the broker requires one, a CA that did not sign the broker refused with a clear
message, and the user name and password from the environment or a password file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware_py.sinks.mqtt import MqttSink
from tests.firmware_py.sinks.broker import find_mosquitto
from tests.firmware_py.sinks.test_mqtt import frame, frame_ids, make_sink, wait_for
from tests.firmware_py.sinks.tls import TlsBroker, make_pki, password_file


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Path, request: pytest.FixtureRequest) -> Iterator[TlsBroker]:
    options = getattr(request, "param", {})
    passwords = password_file(tmp_path / "passwd", "cam", "s3cret pass") \
        if options.get("passwords") else None
    broker = TlsBroker(find_mosquitto(), tmp_path, pki, options.get("require_certificate",
                                                                    False), passwords)
    broker.start()
    yield broker
    broker.kill()


def tls_sink(tmp_path: Path, broker: TlsBroker, pki: Path, **fields: Any) -> MqttSink:
    return make_sink(tmp_path, broker.port, tls=True, ca_file=str(pki / "ca.pem"), **fields)


def deliver(sink: MqttSink, sub: Any, n: int = 3) -> list[int]:
    for i in range(n):
        sink.publish_detections(frame(i))
    wait_for(lambda: len(sub.on("/detections")) == n, what=f"{n} detections")
    return frame_ids(sub.on("/detections"))


def test_detections_arrive_over_tls_verified_by_the_ca_file(tmp_path, pki, tls_broker,
                                                             collector, caplog) -> None:
    sub = collector(tls_broker.sub_port)
    caplog.set_level(logging.INFO, "firmware_py.sinks.mqtt")
    with tls_sink(tmp_path, tls_broker, pki) as sink:
        assert deliver(sink, sub) == [0, 1, 2]
    assert "over TLS" in caplog.text


def test_a_plain_client_gets_nothing_through_the_tls_listener(tmp_path, tls_broker,
                                                              collector, caplog) -> None:
    sub = collector(tls_broker.sub_port)
    with make_sink(tmp_path, tls_broker.port, flush_timeout_s=0.0) as sink:
        sink.publish_detections(frame(0))
        wait_for(lambda: tls_broker.log_has("wrong version number"), what="broker refusal")
        wait_for(lambda: "closed the connection before accepting it" in caplog.text,
                 what="sink warning")
        assert sink.counters()["connects"] == 0 and len(sink.spool) == 1
    assert sub.on("/detections") == []


def test_a_ca_that_did_not_sign_the_broker_is_refused_with_the_reason(
        tmp_path, pki, tls_broker, collector, caplog) -> None:
    sub = collector(tls_broker.sub_port)
    sink = make_sink(tmp_path, tls_broker.port, tls=True, ca_file=str(pki / "other-ca.pem"),
                     flush_timeout_s=0.0)
    try:
        sink.publish_detections(frame(0))
        line = wait_for(lambda: [r.getMessage() for r in caplog.records
                                 if "TLS handshake failed" in r.getMessage()], what="warning")[0]
        assert sink.counters()["connects"] == 0 and len(sink.spool) == 1
    finally:
        sink.close()
    assert f"127.0.0.1:{tls_broker.port}" in line and "certificate verify failed" in line
    assert "ca_file" in line and sub.on("/detections") == []


@pytest.mark.parametrize("tls_broker", [{"require_certificate": True}], indirect=True)
def test_a_broker_that_requires_a_client_certificate(tmp_path, pki, tls_broker,
                                                     collector) -> None:
    sub = collector(tls_broker.sub_port)
    with tls_sink(tmp_path / "anonymous", tls_broker, pki, flush_timeout_s=0.0) as sink:
        sink.publish_detections(frame(9))
        wait_for(lambda: tls_broker.log_has("peer did not return a certificate"),
                 what="broker refusal")
        assert sink.counters()["connects"] == 0 and len(sink.spool) == 1
    assert sub.on("/detections") == []
    with tls_sink(tmp_path / "cert", tls_broker, pki, cert_file=str(pki / "client.pem"),
                  key_file=str(pki / "client.key")) as sink:
        assert deliver(sink, sub) == [0, 1, 2]


@pytest.mark.parametrize("tls_broker", [{"passwords": True}], indirect=True)
def test_credentials_from_the_environment_or_the_password_file(tmp_path, pki, tls_broker,
                                                               collector, monkeypatch,
                                                               caplog) -> None:
    sub = collector(tls_broker.sub_port)
    monkeypatch.setenv("SPECKS_MQTT_USERNAME", "cam")
    monkeypatch.setenv("SPECKS_MQTT_PASSWORD", "wrong")
    with tls_sink(tmp_path / "wrong", tls_broker, pki, flush_timeout_s=0.0) as sink:
        sink.publish_detections(frame(9))
        wait_for(lambda: "refused the connection: Not authorized" in caplog.text,
                 what="refusal")
    monkeypatch.setenv("SPECKS_MQTT_PASSWORD", "s3cret pass")
    with tls_sink(tmp_path / "env", tls_broker, pki) as sink:
        assert deliver(sink, sub, 1) == [0]
    monkeypatch.delenv("SPECKS_MQTT_PASSWORD")
    secret = tmp_path / "mqtt.password"
    secret.write_text("s3cret pass\n")
    with tls_sink(tmp_path / "file", tls_broker, pki, password_file=str(secret)) as sink:
        for i in range(1, 3):
            sink.publish_detections(frame(i))
        wait_for(lambda: len(sub.on("/detections")) == 3, what="3 detections")
