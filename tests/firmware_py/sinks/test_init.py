"""The sink registry and factory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from firmware_py.sinks import SINK_TYPES, create_sink, sink_class, sink_config_union

REPO = Path(__file__).resolve().parents[3]


def test_every_key_resolves_to_a_plugin_with_a_literal_type():
    for key in SINK_TYPES:
        cls = sink_class(key)
        assert cls.key == key and cls.config_cls().type == key


def test_union_dispatches_on_type_and_forbids_extra_fields():
    adapter = TypeAdapter(sink_config_union())
    assert adapter.validate_python({"type": "udp", "port": 9999}).port == 9999
    with pytest.raises(ValueError):
        adapter.validate_python({"type": "udp", "prot": 9999})
    with pytest.raises(ValueError):
        create_sink({"type": "kafka"})


def test_unknown_key_is_rejected():
    with pytest.raises(ValueError, match="unknown sink type"):
        sink_class("kafka")


def test_importing_non_mqtt_sinks_pulls_in_neither_paho_nor_torch():
    code = ("import sys, firmware_py.sinks.jsonl, firmware_py.sinks.udp; "
            "assert not {'paho', 'torch', 'models', 'export'} & set(sys.modules), "
            "sorted(m for m in sys.modules if m.split('.')[0] in ('paho', 'torch'))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
