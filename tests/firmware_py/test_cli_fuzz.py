"""The parser fuzzers' property, seen as a user sees it: a fuzzed ``--set``, ``--source``,
sink address or bundle manifest that the parser refuses makes ``specks run`` exit 2 with
exactly one line on stderr, in a fresh interpreter. Few examples: each is a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from firmware_py.board import BoardConfigError, load_board
from firmware_py.pipeline.deployment import DeploymentOptions, load_deployment
from firmware_py.pipeline.source_spec import source_config
from firmware_py.verify import MANIFEST, SIGNATURE, BundleError, load_public_key, verify_bundle
from tests.data.make_device_bundle import BUNDLE, KEYS
from tests.firmware_py.fuzz import FUZZ, edited
from tests.firmware_py.user_input import host_ports, mqtt_urls, overrides, source_specs

ORIGINAL = json.loads((BUNDLE / MANIFEST).read_text())
PRIVATE = load_pem_private_key((KEYS / "specks.key").read_bytes(), None)
PUBLIC = [load_public_key(KEYS / "specks.pub")]

FEW = settings(FUZZ, max_examples=4)


def _typable(*args: str) -> bool:
    """What a shell can pass in argv: no NUL, encodable."""
    try:
        return all("\x00" not in a and a.encode() is not None for a in args)
    except UnicodeEncodeError:
        return False


def _refused_in_one_line(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "firmware_py.cli", "run", "--frames", "1",
                           "--quiet", *args], capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("ERROR specks.run: "), done.stderr
    return lines[0]


def _refused(call) -> bool:
    try:
        call()
    except (BoardConfigError, BundleError, ValueError):
        return True
    return False


@FEW
@given(overrides)
def test_a_refused_set_exits_2_in_one_line(sets: list[str]) -> None:
    assume(_typable(*sets) and _refused(lambda: load_board("x86-generic", sets)))
    _refused_in_one_line(*(f"--set={pair}" for pair in sets))


@FEW
@given(source_specs)
def test_a_refused_source_exits_2_in_one_line(spec: str) -> None:
    camera = load_board("x86-generic").camera
    assume(spec and _typable(spec) and _refused(lambda: source_config(spec, camera)))
    _refused_in_one_line(f"--source={spec}")


@FEW
@given(st.sampled_from(["--mqtt", "--udp", "--dashboard"]), mqtt_urls | host_ports)
def test_a_refused_sink_address_exits_2_in_one_line(option: str, value: str) -> None:
    field = option.removeprefix("--")
    options = DeploymentOptions(**{field: value})
    assume(_typable(value) and _refused(lambda: load_deployment("x86-generic", (), options)))
    _refused_in_one_line(f"{option}={value}")


@FEW
@given(tree=edited(ORIGINAL))
def test_a_refused_manifest_exits_2_in_one_line(tree, tmp_path_factory) -> None:
    bundle = tmp_path_factory.mktemp("fuzzed") / "bundle"
    shutil.copytree(BUNDLE, bundle)
    data = json.dumps(tree).encode()
    (bundle / MANIFEST).write_bytes(data)
    (bundle / SIGNATURE).write_bytes(PRIVATE.sign(data))
    assume(_refused(lambda: verify_bundle(bundle, PUBLIC)))
    _refused_in_one_line("--bundle", str(bundle), "--trusted-keys", str(KEYS / "specks.pub"),
                         "--source", str(Path(bundle)))
