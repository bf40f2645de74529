"""Board profiles: every shipped profile validates, errors name the file and the field, and the
power section builds its sensor."""

import re
from pathlib import Path

import pytest
import yaml

from firmware_py.board import (
    BoardConfig,
    BoardConfigError,
    PowerConfig,
    load_board,
)
from firmware_py.power import open_board_sensor
from firmware_py.shipped import BOARDS as SHIPPED_DIR
from firmware_py.sparse import min_budget
from firmware_py.tiling import TileGrid

SHIPPED = sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))
BOARDS = ("rpi5", "rpi4", "rpi-zero2w", "jetson-orin-nano", "jetson-nano", "x86-generic")


def test_the_six_boards_ship():
    assert set(BOARDS) <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_profile_validates_and_is_named_after_its_file(name):
    board = load_board(name)
    assert board.name == name and board.description
    assert "sensor" in board.power.model_fields_set  # the profile chose its sensor
    assert board.power.budget_w is None or board.power.budget_w > board.power.estimate.idle_w


def frame_size(camera) -> tuple[int, int]:
    if camera.type == "gstreamer":
        return (int(re.search(r"width=(\d+)", camera.pipeline)[1]),
                int(re.search(r"height=(\d+)", camera.pipeline)[1]))
    return tuple(getattr(camera, "main_size", None) or (camera.width, camera.height))


@pytest.mark.parametrize("name", SHIPPED)
def test_sampler_budget_keeps_the_revisit_guarantee_for_320_px_tiles(name):
    board = load_board(name)
    width, height = frame_size(board.camera)
    grid = TileGrid(width, height, 320, 320, board.tiles.overlap)
    assert board.sampler.budget >= min_budget(len(grid), board.sampler.revisit_frames)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "board.yaml"
    path.write_text(text)
    return path


def test_a_wrong_field_is_reported_by_name_and_file(tmp_path):
    path = write(tmp_path, "name: x\npower:\n  budgt_w: 3\n")
    with pytest.raises(BoardConfigError) as error:
        load_board(str(path))
    assert str(path) in str(error.value) and "power.budgt_w" in str(error.value)


def test_a_bad_sensor_field_names_its_path(tmp_path):
    path = write(tmp_path, "power:\n  sensor:\n    type: vcgencmd\n    min_interval_s: 0.01\n")
    with pytest.raises(BoardConfigError, match=r"power\.sensor\.vcgencmd\.min_interval_s"):
        load_board(str(path))


def test_overrides_reach_the_power_section():
    board = load_board("rpi4", ["power.budget_w=4.5", "power.sensor.type=rapl"])
    assert board.power.budget_w == 4.5 and board.power.sensor.type == "rapl"
    assert load_board("rpi5", ["power.budget_w=null"]).power.budget_w is None
    with pytest.raises(BoardConfigError, match="power.budget_w"):
        load_board("rpi5", ["power.budget_w=-1"])


def test_estimate_coefficients_live_in_one_place():
    with pytest.raises(ValueError, match="power.estimate"):
        PowerConfig.model_validate({"sensor": {"type": "estimate", "idle_w": 3}})
    assert PowerConfig.model_validate({"sensor": {"type": "estimate"}}).sensor.type == "estimate"


def test_defaults_are_validated_configs():
    board = BoardConfig()
    assert board.camera.type == "v4l2" and board.power.sensor.type == "auto"
    assert board.power.budget_w is None


def test_a_profiles_estimate_sensor_uses_its_coefficients(tmp_path):
    (tmp_path / "stat").write_text("cpu  1 0 1 100 0 0 0 0 0 0\ncpu0 1 0 1 100 0 0 0 0 0 0\n")
    board = load_board("rpi-zero2w", [f"power.estimate.proc_root={tmp_path}",
                                      "power.estimate.min_interval_s=0.01"])
    sample = open_board_sensor(board.power).read()
    assert sample.estimated and sample.watts == board.power.estimate.idle_w


def test_secrets_are_refused_in_a_profile_without_being_repeated(tmp_path):
    path = write(tmp_path, "name: x\ndashboard:\n  host: 0.0.0.0\n  token: abcdefghijklmnop0123\n"
                 "sinks:\n  mqtt:\n    username: cam\n    password: hunter2\n")
    with pytest.raises(BoardConfigError) as error:
        load_board(str(path))
    text = str(error.value)
    assert "field 'dashboard'" in text and "SPECKS_DASHBOARD_TOKEN" in text
    assert "field 'sinks.mqtt'" in text and "SPECKS_MQTT_PASSWORD" in text
    assert "hunter2" not in text and "abcdefghijklmnop" not in text


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profiles_document_the_deployment_sections(name):
    text = (SHIPPED_DIR / f"{name}.yaml").read_text()
    for section in ("sinks:", "dashboard:", "log_path:", "budget_w:"):
        assert section in text, f"{name}.yaml: no {section} example"


@pytest.mark.parametrize("name", SHIPPED)
def test_the_commented_mqtt_example_is_a_valid_section(name):
    lines = (SHIPPED_DIR / f"{name}.yaml").read_text().splitlines()
    start = lines.index("  # mqtt:")
    block = []
    for line in lines[start:]:
        if not line.startswith("  # "):
            break
        block.append(line.replace("  # ", "  ", 1))
    board = BoardConfig.model_validate(yaml.safe_load("sinks:\n" + "\n".join(block)))
    assert board.sinks.mqtt.tls and board.sinks.mqtt.broker_port == 8883
