"""The endpoints over real loopback HTTP: token enforcement, SSE and MJPEG framing, state,
and that neither many nor stalled clients hold the pipeline back."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest

from firmware_py.dashboard import Dashboard, DashboardConfig
from firmware_py.dashboard.mjpeg import BOUNDARY
from firmware_py.sinks.message import DetectionMessage
from tests.firmware_py.dashboard.scene import TOKEN


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5.0) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def connect(dashboard: Dashboard, path: str) -> http.client.HTTPResponse:
    url = urlsplit(dashboard.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5.0)
    connection.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
    return connection.getresponse()


@pytest.fixture
def dashboard() -> Iterator[Dashboard]:
    dashboard = Dashboard(DashboardConfig(port=0, token=TOKEN, max_fps=30.0, max_clients=3))
    dashboard.start()
    yield dashboard
    dashboard.stop()


@pytest.mark.parametrize("path", ["", "api/state", "events", "stream.mjpg"])
def test_every_route_but_healthz_needs_the_token(dashboard: Dashboard, path: str) -> None:
    status, headers, _ = get(dashboard.url + path)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert get(dashboard.url + path + "?token=wrong-token-0123456789")[0] == 401
    assert get(dashboard.url + path, {"Authorization": "Bearer " + TOKEN[:-1]})[0] == 401
    status, _, body = get(dashboard.url + "healthz")
    assert (status, body) == (200, b"ok\n")


def test_the_token_is_accepted_as_query_or_bearer_header(dashboard: Dashboard) -> None:
    by_query = get(f"{dashboard.url}?token={TOKEN}")
    by_header = get(dashboard.url, {"Authorization": f"bearer {TOKEN}"})
    assert by_query[0] == by_header[0] == 200 and by_query[2] == by_header[2]
    assert by_query[1]["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in by_query[1]["Content-Security-Policy"]
    assert get(f"{dashboard.url}nowhere?token={TOKEN}")[0] == 404


def test_loopback_without_a_token_is_open() -> None:
    dashboard = Dashboard(DashboardConfig(port=0))
    dashboard.start()
    try:
        assert get(dashboard.url + "api/state")[0] == 200
    finally:
        dashboard.stop()


def test_a_non_loopback_bind_enforces_its_token() -> None:
    dashboard = Dashboard(DashboardConfig(host="0.0.0.0", port=0, token=TOKEN))
    port = urlsplit(dashboard.start()).port
    try:
        assert get(f"http://127.0.0.1:{port}/api/state")[0] == 401
        assert get(f"http://127.0.0.1:{port}/api/state?token={TOKEN}")[0] == 200
    finally:
        dashboard.stop()


def test_state_holds_info_and_the_last_stats(dashboard: Dashboard) -> None:
    dashboard.set_info(board="rpi5", bundle="b@1", model="m", mode="sparse")
    dashboard.set_info(mode="dense")
    for power in (3.0, np.float32(4.5)):
        dashboard.publish_stats({"power_w": power, "budget_w": 5.0, "power_source": "ina219"})
    dashboard.publish_detections(DetectionMessage("cam", 7, 1.0, 2, 9, [[1, 2, 3, 4]], [0.5],
                                                  [0], ("bird",)))
    status, headers, body = get(f"{dashboard.url}api/state?token={TOKEN}")
    state = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert state["info"] == {"board": "rpi5", "bundle": "b@1", "model": "m", "mode": "dense"}
    assert state["stats"] == {"power_w": 4.5, "budget_w": 5.0, "power_source": "ina219"}
    assert [s["power_w"] for s in state["history"]] == [3.0, 4.5]
    assert state["detections"]["frame_id"] == 7 and state["detections"]["labels"] == ["bird"]


def read_event(response: http.client.HTTPResponse) -> tuple[str, dict]:
    """The next event (skipping retry and comments), by the SSE line rules."""
    name, data = "", []
    while True:
        line = response.readline().decode()
        assert line.endswith("\n"), "stream ended"
        line = line.rstrip("\n")
        if not line and data:
            return name, json.loads("\n".join(data))
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])


def test_events_start_with_the_current_state_then_follow_publications(dashboard: Dashboard):
    dashboard.set_info(board="rpi5")
    dashboard.publish_stats({"inference_fps": 9.0})
    response = connect(dashboard, "/events")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert read_event(response) == ("info", {"board": "rpi5"})
    assert read_event(response) == ("stats", {"inference_fps": 9.0})
    dashboard.publish_detections(DetectionMessage("cam", 3, 2.0, 1, 4))
    dashboard.publish_stats({"inference_fps": 11.0, "power_w": float("nan")})
    dashboard.set_info(mode="dense")
    name, detections = read_event(response)
    assert name == "detections" and detections["frame_id"] == 3
    assert read_event(response) == ("stats", {"inference_fps": 11.0, "power_w": None})
    assert read_event(response) == ("info", {"board": "rpi5", "mode": "dense"})
    dashboard.stop()
    assert response.read() == b""  # stop() ends the stream


def read_part(response: http.client.HTTPResponse) -> bytes:
    """One multipart part: the boundary line, headers, then Content-Length bytes and CRLF."""
    assert response.readline() == f"--{BOUNDARY}\r\n".encode()
    headers = {}
    while (line := response.readline()) != b"\r\n":
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg"
    body = response.read(int(headers["content-length"]))
    assert response.read(2) == b"\r\n"
    return body


def test_the_mjpeg_stream_carries_decodable_frames_of_the_live_scene(fed_dashboard) -> None:
    dashboard, _ = fed_dashboard
    response = connect(dashboard, "/stream.mjpg")
    assert response.status == 200
    assert response.headers["Content-Type"] == (
        f"multipart/x-mixed-replace; boundary={BOUNDARY}")
    frames = [cv2.imdecode(np.frombuffer(read_part(response), np.uint8), cv2.IMREAD_COLOR)
              for _ in range(4)]
    response.close()
    assert all(f.shape == (360, 640, 3) for f in frames)
    assert any((a != b).any() for a, b in zip(frames, frames[1:], strict=False))
    assert dashboard.counters()["frames_encoded"] >= 4


def test_clients_beyond_max_clients_get_503(dashboard: Dashboard) -> None:
    held = [connect(dashboard, "/events") for _ in range(3)]
    assert all(r.status == 200 for r in held)
    refused = connect(dashboard, "/events")
    assert refused.status == 503 and refused.headers["Retry-After"]
    for response in held:
        response.close()


def test_a_stalled_viewer_never_blocks_the_pipeline(dashboard: Dashboard) -> None:
    url = urlsplit(dashboard.url)
    stalled = socket.create_connection((url.hostname, url.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(f"GET /stream.mjpg?token={TOKEN} HTTP/1.0\r\n\r\n".encode())
    noise = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), np.uint8)

    def pipeline() -> None:  # publishes until the stalled viewer has lost frames
        deadline = time.monotonic() + 10.0
        while dashboard.counters()["dropped"] == 0 and time.monotonic() < deadline:
            dashboard.publish_frame(np.roll(noise, dashboard.frames, axis=1))
            dashboard.publish_detections(DetectionMessage("cam", dashboard.frames, 0.0, 0, 1))
            time.sleep(0.005)

    publisher = threading.Thread(target=pipeline)
    try:
        publisher.start()
        publisher.join(timeout=15.0)
        assert not publisher.is_alive()  # no publish call ever waited on the viewer
        assert dashboard.counters()["dropped"] > 0  # the viewer fell behind: frames dropped
        assert get(dashboard.url + "healthz")[0] == 200  # and the server still answers
    finally:
        stalled.close()


def test_an_ipv6_loopback_bind_serves() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        pytest.skip(f"no IPv6 loopback on this machine: {e}")
    dashboard = Dashboard(DashboardConfig(host="::1", port=0))
    url = dashboard.start()
    try:
        assert url.startswith("http://[::1]:") and get(url + "healthz")[0] == 200
    finally:
        dashboard.stop()
