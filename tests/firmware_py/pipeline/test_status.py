"""The one-line status: what a user reads at a glance."""

from firmware_py.pipeline.status import status_line


def test_the_status_line_names_rates_power_and_a_lost_source() -> None:
    line = status_line({"inference_fps": 12.34, "tiles_per_frame": 8.0, "grid_tiles": 32,
                        "latency_ms_mean": 81.2, "infer_ms_mean": 62.0, "detections": 3,
                        "power_w": 2.414, "budget_w": 3.0, "power_estimated": True,
                        "skipped_total": 4, "source_running": True,
                        "source_connected": False, "gap_s": 7.2})
    assert line == ("12.3 fps | tiles 8.0/32 | latency 81 ms (infer 62) | 3 det | "
                    "2.41 W / 3 W (estimated) | skipped 4 | SOURCE LOST (7 s)")


def test_a_finished_file_is_not_a_lost_source() -> None:
    line = status_line({"inference_fps": 5.0, "source_running": False,
                        "source_connected": False})
    assert "LOST" not in line


def test_a_broker_outage_shows_with_the_spool_depth_and_only_then() -> None:
    down = status_line({"inference_fps": 5.0, "mqtt_state": "disconnected", "spool_depth": 42})
    assert down.endswith(" | MQTT DOWN (42 spooled)")
    for state in ("connected", "disabled"):
        assert "MQTT" not in status_line({"inference_fps": 5.0, "mqtt_state": state,
                                          "spool_depth": 0})
