"""Hypothesis strategies for what users type into ``specks run``: ``--set`` pairs, ``--source``
specs and sink addresses. Shared by the parser-level fuzzers and the CLI-level ones."""

from __future__ import annotations

import yaml
from hypothesis import strategies as st

from firmware_py.shipped import BOARDS
from tests.firmware_py.fuzz import json_values, paths, typed

PROFILE = yaml.safe_load((BOARDS / "x86-generic.yaml").read_text())
FIELDS = [".".join(map(str, p)) for p in paths(PROFILE) if p and
          all(isinstance(k, str) for k in p)]

# a field of the profile or anything typed, '=', a YAML value or anything typed; or no '='
overrides = st.lists(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(FIELDS) | typed,
              typed | json_values.map(lambda v: yaml.safe_dump(v, default_flow_style=True)
                                      .strip()))
    | typed, max_size=4)

SOURCE_PREFIXES = ["", "/dev/", "/dev/video", "rtsp://", "rtsps://", "http://", "https://",
                   "picamera2", "picamera2:", "v4l2src ! ", "/tmp/", "./"]
source_specs = st.builds(str.__add__, st.sampled_from(SOURCE_PREFIXES), typed) \
    | st.integers(-5, 10**9).map(str)

MQTT_PREFIXES = ["", "mqtt://", "mqtts://", "tcp://", "ssl://", "ws://", "mqtt://user@",
                 "mqtt://u:p@", "mqtt://[", "mqtt://[::1]:"]
mqtt_urls = st.builds(str.__add__, st.sampled_from(MQTT_PREFIXES), typed)
host_ports = st.builds(lambda h, p: f"{h}:{p}", typed,
                       st.integers(-10, 70000).map(str) | typed) | typed
