"""``specks run``'s deployment options over the board profile: they override the fields they
name, keep the profile's others, add a section the profile lacks, and a bad value is named by
its field; a password in an ``--mqtt`` URL is refused without being repeated."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_py.board import BoardConfigError
from firmware_py.pipeline.deployment import DeploymentOptions, load_deployment, mqtt_fields

PROFILE = """\
name: site
sinks:
  jsonl: {path: log/detections.jsonl, max_bytes: 2048, backups: 3}
  mqtt:
    host: broker.lan
    tls: true
    ca_file: /etc/specks/ca.pem
    qos: 2
    topic_prefix: site1/cams
    spool_max_messages: 500
dashboard: {host: 127.0.0.1, port: 9000, max_fps: 5}
telemetry: {log_path: log/stats.jsonl}
power: {budget_w: 6.0}
"""


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(PROFILE)
    return path


def test_without_options_the_profile_is_the_deployment(profile: Path) -> None:
    board = load_deployment(str(profile), [], DeploymentOptions())
    assert board.sinks.jsonl.path == "log/detections.jsonl" and board.sinks.udp is None
    assert board.sinks.mqtt.broker_port == 8883 and board.sinks.mqtt.qos == 2
    assert board.dashboard.port == 9000 and board.telemetry.log_path == "log/stats.jsonl"
    assert board.power.budget_w == 6.0


def test_options_override_the_fields_they_name_and_keep_the_rest(profile: Path) -> None:
    board = load_deployment(str(profile), [], DeploymentOptions(
        jsonl="-", mqtt="mqtts://other.lan:8884", dashboard="", stats_log="s.csv",
        power_budget_w=4.5, spool_dir=Path("/var/spool/specks")))
    jsonl, mqtt = board.sinks.jsonl, board.sinks.mqtt
    assert (jsonl.path, jsonl.max_bytes, jsonl.backups) == ("-", 2048, 3)
    assert (mqtt.host, mqtt.broker_port, mqtt.tls, mqtt.qos) == ("other.lan", 8884, True, 2)
    assert (mqtt.topic_prefix, mqtt.ca_file, mqtt.spool_max_messages) == \
        ("site1/cams", "/etc/specks/ca.pem", 500)
    assert mqtt.spool_path == "/var/spool/specks/mqtt.sqlite3"
    assert (board.dashboard.port, board.dashboard.max_fps) == (9000, 5)  # '' keeps the address
    assert board.telemetry.log_path == "s.csv" and board.power.budget_w == 4.5


def test_options_add_what_the_profile_lacks() -> None:
    board = load_deployment("x86-generic", [], DeploymentOptions(
        udp="[::1]:5005", mqtt="cam@broker", dashboard="127.0.0.1:0",
        spool_dir=Path("sp")))
    assert (board.sinks.udp.host, board.sinks.udp.port) == ("::1", 5005)
    mqtt = board.sinks.mqtt
    assert (mqtt.host, mqtt.broker_port, mqtt.tls, mqtt.username) == ("broker", 1883, False,
                                                                      "cam")
    assert mqtt.spool_path == "sp/mqtt.sqlite3"
    assert (board.dashboard.host, board.dashboard.port) == ("127.0.0.1", 0)
    assert board.name == "x86-generic" and board.camera.type == "v4l2"  # the rest unchanged


def test_set_overrides_apply_after_the_options(profile: Path) -> None:
    board = load_deployment(str(profile), ["sinks.mqtt.qos=1", "sinks.mqtt.host=third"],
                            DeploymentOptions(mqtt="mqtts://other.lan"))
    assert (board.sinks.mqtt.host, board.sinks.mqtt.qos, board.sinks.mqtt.tls) == \
        ("third", 1, True)
    board = load_deployment("x86-generic", ["sinks.mqtt.ca_file=/ca.pem"],
                            DeploymentOptions(mqtt="mqtts://broker"))  # valid only together
    assert board.sinks.mqtt.ca_file == "/ca.pem"


def test_spool_dir_alone_adds_no_mqtt_sink() -> None:
    board = load_deployment("x86-generic", [], DeploymentOptions(spool_dir=Path("sp")))
    assert board.sinks.mqtt is None


def test_a_plain_url_over_a_profile_with_a_ca_file_is_named(profile: Path) -> None:
    with pytest.raises(BoardConfigError, match="site.yaml with the command-line options") as error:
        load_deployment(str(profile), [], DeploymentOptions(mqtt="mqtt://other"))
    assert "field 'sinks.mqtt': Value error, ca_file set but tls is false" in str(error.value)


def test_a_bad_option_value_is_named_by_its_field() -> None:
    with pytest.raises(BoardConfigError, match="field 'power.budget_w'"):
        load_deployment("x86-generic", [], DeploymentOptions(power_budget_w=-1.0))
    with pytest.raises(ValueError, match="--udp 'nowhere': expected HOST:PORT"):
        load_deployment("x86-generic", [], DeploymentOptions(udp="nowhere"))


@pytest.mark.parametrize("url", ["mqtt://cam:hunter2@broker", "mqtts://cam:hunter2@b:8883",
                                 "cam:hunter2@broker"])
def test_a_password_in_the_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ValueError) as error:
        mqtt_fields(url)
    message = str(error.value)
    assert "SPECKS_MQTT_PASSWORD" in message and "password_file" in message
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.parametrize("url", ["http://broker", "mqtt://", "mqtt://broker:99999"])
def test_a_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="--mqtt: expected"):
        mqtt_fields(url)
