"""``specks run`` end to end in a fresh interpreter: the LiteRT pipeline never imports torch,
and a bad bundle or board is refused with exit code 2 and a message naming the problem. The
faults users meet, one per row of issue 17, are ``tests/firmware_py/test_fault_matrix.py``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from firmware_py.shipped import BOARDS, ZOO_BUNDLES, ZOO_KEYS
from tests.firmware_py.sinks.broker import wait_for

SCRIPT = """
import argparse, json, sys
from firmware_py.pipeline import cli
parser = argparse.ArgumentParser()
cli.register(parser.add_subparsers())
rc = cli.run(parser.parse_args(["run", *sys.argv[1:]]))
print(json.dumps({"rc": rc, "torch": sorted(m for m in sys.modules if m.startswith("torch"))}))
"""


def _run(*args: str) -> tuple[dict, str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
                         timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def test_run_with_the_saliency_prior_never_imports_torch(device_bundle, frames_dir,
                                                          tmp_path) -> None:
    bundle, _, public = device_bundle
    out = tmp_path / "det.jsonl"
    result, log = _run("--bundle", str(bundle), "--trusted-keys", str(public), "--source",
                       str(frames_dir), "--jsonl", str(out), "--trusted-keys",
                       str(ZOO_KEYS), "--prior-bundle", str(ZOO_BUNDLES / "csnet-prior"),
                       "--set", "merge.score_threshold=0.05", "--no-realtime", "--quiet")
    assert result == {"rc": 0, "torch": []}, log
    kinds = [json.loads(line)["kind"] for line in out.read_text().splitlines()]
    assert kinds.count("detections") == 6 and "stats" in kinds


def test_a_bad_board_field_is_named(device_bundle, frames_dir, tmp_path) -> None:
    board = tmp_path / "mine.yaml"
    shutil.copy(BOARDS / "x86-generic.yaml", board)
    board.write_text(board.read_text().replace("threads: 2", "threads: 0"))
    result, log = _run("--board", str(board), "--bundle", str(device_bundle[0]))
    assert result["rc"] == 2 and "runtime.threads" in log and "mine.yaml" in log


def test_a_password_in_the_mqtt_url_is_refused_in_one_line(device_bundle) -> None:
    result, log = _run("--bundle", str(device_bundle[0]), "--mqtt", "mqtt://cam:hunter2@host")
    assert result["rc"] == 2 and "hunter2" not in log
    lines = [line for line in log.splitlines() if "SPECKS_MQTT_PASSWORD" in line]
    assert len(lines) == 1 and "--mqtt: a password in the URL" in lines[0]


def test_two_runs_appending_to_one_file_are_told_apart(device_bundle, frames_dir, tmp_path,
                                                       mosquitto, collector) -> None:
    """Two ``specks run`` processes, each to the same JSONL file and to a real broker: frame
    ids repeat, run ids differ, ``(run_id, seq)`` is unique and ``seq`` counts every message
    of a run in order; the broker gets the same stamps."""
    bundle, _, public = device_bundle
    out = tmp_path / "det.jsonl"
    sub = collector(mosquitto.sub_port)
    for _ in range(2):
        result, log = _run("--bundle", str(bundle), "--trusted-keys", str(public), "--source",
                           str(frames_dir), "--jsonl", str(out), "--no-realtime", "--quiet",
                           "--mqtt", f"mqtt://127.0.0.1:{mosquitto.port}",
                           "--spool-dir", str(tmp_path / "spool"))
        assert result["rc"] == 0, log
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    runs = list(dict.fromkeys(x["run_id"] for x in lines))
    assert len(runs) == 2 and all(len(r) == 36 for r in runs)
    assert [x["run_id"] for x in lines] == sorted(x["run_id"] for x in lines)  # A's, then B's
    for run in runs:
        mine = [x for x in lines if x["run_id"] == run]
        assert [x["seq"] for x in mine] == list(range(len(mine)))
        assert [x["frame_id"] for x in mine if x["kind"] == "detections"] == list(range(6))
        assert all(x["mqtt_state"] in ("connected", "disconnected") and
                   x["spool_depth"] >= 0 for x in mine if x["kind"] == "stats")
    stamps = [(x["run_id"], x["seq"]) for x in lines]
    assert len(set(stamps)) == len(stamps) == 2 * 6 + sum(x["kind"] == "stats" for x in lines)
    wait_for(lambda: len(sub.on("/detections")) + len(sub.on("/stats")) >= len(stamps),
             timeout=30.0, what="every message on the broker")
    got = [json.loads(m.payload) for m in sub.on("/detections") + sub.on("/stats")]
    assert {(x["run_id"], x["seq"]) for x in got} == set(stamps)
