"""Installing ``specks.service``: enabling it on a root filesystem that is not running (an SD
card), and the installed unit's ExecStart run as systemd would run it (its Environment and
EnvironmentFile applied, its working directory, ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC`` set)
on a sample clip, streaming to the profile's sinks: a JSONL file and a real mosquitto over TLS
with the password from the EnvironmentFile. (The process runs as the test's user: creating
the unit's ``specks`` user needs a booted system.)"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import cv2

from firmware_py.board import load_board
from firmware_py.device.install import InstallOptions, install
from firmware_py.device.service import (
    ENV_TEMPLATE,
    UNIT_NAME,
    existing_groups,
    install_service,
    restart_command,
    write_env_template,
)
from firmware_py.device.slots import Layout
from tests.firmware_py.device.units import environment, parse_unit, split_exec
from tests.firmware_py.pipeline.conftest import scene
from tests.firmware_py.sinks.broker import Collector, find_mosquitto, wait_for
from tests.firmware_py.sinks.tls import TlsBroker, make_pki, password_file

EXE = str(Path(sys.executable).with_name("specks"))
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FRAMES = 6


def test_install_writes_and_enables_the_unit_offline(tmp_path: Path) -> None:
    units = tmp_path / "etc" / "systemd" / "system"
    layout = Layout(tmp_path / "root")
    path = install_service(layout, load_board("rpi4"), units, EXE)
    assert f"--board {layout.board_file}" in path.read_text()
    link = units / "multi-user.target.wants" / UNIT_NAME
    assert link.is_symlink() and link.resolve() == path.resolve()
    assert all(d.is_dir() for d in (layout.run, layout.spool, layout.log))  # writable dirs
    install_service(layout, load_board("rpi5"), units, EXE)  # idempotent, updated
    assert "(board rpi5)" in path.read_text()


def test_no_restart_without_a_running_systemd(tmp_path: Path) -> None:
    install_service(Layout(tmp_path / "root"), load_board("rpi4"), tmp_path, EXE)
    expected = "systemctl restart specks" if Path("/run/systemd/system").is_dir() else None
    assert restart_command(tmp_path) == expected


def test_the_secrets_template_is_private_and_never_overwritten(tmp_path: Path) -> None:
    env_file = tmp_path / "etc" / "specks" / "specks.env"
    write_env_template(env_file)
    assert env_file.read_text() == ENV_TEMPLATE
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    env_file.write_text("SPECKS_MQTT_PASSWORD=kept\n")
    write_env_template(env_file)
    assert env_file.read_text() == "SPECKS_MQTT_PASSWORD=kept\n"


def test_only_device_groups_that_exist_are_asked_for() -> None:
    assert existing_groups(("root", "no-such-group-specks")) == ["root"]


def test_device_install_with_service(root: Path, bundles, tmp_path: Path) -> None:
    options = InstallOptions(board="x86-generic", service=True, unit_dir=tmp_path / "units",
                             specks_exe=EXE, env_file=tmp_path / "specks.env")
    assert install(bundles["v1"], root, bundles["keys"], options).result == "installed"
    text = (tmp_path / "units" / UNIT_NAME).read_text()
    assert f"--bundle {root / 'current'}" in text
    assert f"EnvironmentFile=-{tmp_path / 'specks.env'}" in text


PROFILE = """\
name: field
device_id: field1
runtime: {{prefer: litert, precision: fp32, threads: 1}}
camera: {{type: folder, path: {frames}}}
capture: {{drop: false}}
merge: {{score_threshold: 0.05}}
power: {{sensor: {{type: estimate}}}}
telemetry: {{log_path: log/stats.jsonl, period_s: 0.2}}
sinks:
  jsonl: {{path: log/detections.jsonl}}
  mqtt:
    port: {port}
    tls: true
    ca_file: {pki}/ca.pem
    username: field-cam
    reconnect_min_s: 0.05
    flush_timeout_s: 30  # a loaded machine still delivers before the run ends
"""


def notify_socket() -> tuple[socket.socket, str]:
    """An abstract datagram socket, as systemd's NOTIFY_SOCKET names one (``@...``)."""
    name = f"@specks-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name[1:])
    sock.settimeout(0.2)
    return sock, name


def received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out += sock.recv(4096).decode().split("\n")
        except TimeoutError:
            return out


def test_the_installed_unit_streams_to_the_profiles_sinks(root: Path, bundles, tmp_path: Path,
                                                          monkeypatch) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(FRAMES):
        cv2.imwrite(str(frames / f"{i:03d}.png"), cv2.cvtColor(scene(i), cv2.COLOR_RGB2BGR))
    pki = make_pki(tmp_path / "pki")
    broker = TlsBroker(find_mosquitto(), tmp_path, pki,
                       passwords=password_file(tmp_path / "passwd", "field-cam", "pa55 word"))
    broker.start()
    sub = Collector(broker.sub_port)
    boards = tmp_path / "boards"
    boards.mkdir()
    (boards / "field.yaml").write_text(PROFILE.format(frames=frames, port=broker.port, pki=pki))
    env_file = tmp_path / "etc" / "specks.env"
    env_file.parent.mkdir()
    env_file.write_text(f"SPECKS_BOARD_DIR={boards}\nSPECKS_TRUSTED_KEYS={bundles['keys']}\n"
                        'SPECKS_MQTT_PASSWORD="pa55 word"\n')
    monkeypatch.setenv("SPECKS_BOARD_DIR", str(boards))
    options = InstallOptions(board="field", service=True, unit_dir=tmp_path / "units",
                             specks_exe=EXE, env_file=env_file, restart=False)
    assert install(bundles["v1"], root, bundles["keys"], options).result == "installed"
    service = parse_unit((tmp_path / "units" / UNIT_NAME).read_text())["Service"]
    sock, address = notify_socket()
    env = {"PATH": SYSTEMD_PATH, **environment(service), "NOTIFY_SOCKET": address,
           "WATCHDOG_USEC": str(int(service["WatchdogSec"][0]) * 1_000_000)}
    try:
        done = subprocess.run(split_exec(service["ExecStart"][0]), env=env, timeout=180,
                              cwd=service["WorkingDirectory"][0], capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        notes = received(sock)
        wait_for(lambda: len(sub.on("field1/detections")) >= FRAMES, 10, "MQTT detections")
    finally:
        sock.close()
        sub.close()
        broker.kill()
    assert notes.index("READY=1") < notes.index("WATCHDOG=1") < notes.index("STOPPING=1")
    assert any(n.startswith("STATUS=") and "fps" in n for n in notes)
    lines = [json.loads(line) for line in
             (root / "log" / "detections.jsonl").read_text().splitlines()]
    assert sorted(m["frame_id"] for m in lines if m["kind"] == "detections") == \
        list(range(FRAMES))
    assert {m["device"] for m in lines if m["kind"] == "detections"} == {"field1"}
    mqtt_ids = {json.loads(m.payload)["frame_id"] for m in sub.on("field1/detections")}
    assert mqtt_ids == set(range(FRAMES))
    assert (root / "log" / "stats.jsonl").stat().st_size > 0
    assert json.loads((root / "run" / "health.json").read_text())["frames"] == FRAMES
    assert os.environ.get("SPECKS_MQTT_PASSWORD") is None  # the secret came from the file
