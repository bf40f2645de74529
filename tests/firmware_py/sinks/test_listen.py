"""``specks listen`` against a real mosquitto: each message once, in arrival order."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from tests.firmware_py.sinks.broker import wait_for


def publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def send(client: mqtt.Client, kind: str, payload: object) -> None:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    client.publish(f"specks/cam1/{kind}", raw, qos=1).wait_for_publish(5)


def test_listen_writes_each_message_once_and_skips_what_is_not_ours(mosquitto):
    proc = subprocess.Popen([sys.executable, "-m", "firmware_py.cli", "listen",
                             f"mqtt://127.0.0.1:{mosquitto.sub_port}", "--stats", "--count", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    client = publisher(mosquitto.sub_port)
    try:
        def first_arrived() -> bool:  # repeated until the listener has subscribed
            send(client, "detections", {"run_id": "r", "seq": 0, "frame_id": 0})
            time.sleep(0.05)
            return proc.poll() is not None or bool(lines)

        wait_for(first_arrived, timeout=20, what="the listener to subscribe")
        for seq in (1, 2, 1, 3, 2):
            send(client, "detections", {"run_id": "r", "seq": seq, "frame_id": seq})
        send(client, "detections", b"not json")
        send(client, "stats", {"run_id": "r", "seq": 4, "fps": 1.0})
        send(client, "stats", {"run_id": "r", "seq": 4, "fps": 1.0})
        proc.wait(20)
    finally:
        proc.kill()
        client.loop_stop()
    reader.join(5)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert [json.loads(line)["seq"] for line in lines] == [0, 1, 2, 3, 4]
    assert "not a Specks message" in err


@pytest.mark.parametrize(("args", "message"), [
    (["mqtt://host:99999"], "url: expected mqtt://"),
    (["mqtt://user:secret@host"], "url: a password in the URL"),
    (["mqtt://host", "--ca-file", "ca.pem"], "url / --ca-file: Value error, ca_file set but tls"),
    (["mqtt://host", "--count", "0"], "--count: expected a number of lines >= 1"),
])
def test_bad_arguments_are_one_line_and_exit_2(args, message):
    done = subprocess.run([sys.executable, "-m", "firmware_py.cli", "listen", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and message in errors[0] and "secret" not in done.stderr
