"""The sensor registry, the config union (with ``auto``), and PowerSample."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from firmware_py.power import (
    SENSOR_TYPES,
    PowerSample,
    PowerSensor,
    create_sensor,
    power_config_union,
    sensor_class,
)

REPO = Path(__file__).resolve().parents[3]


def test_every_key_resolves_to_a_plugin_with_a_literal_type():
    for key in SENSOR_TYPES:
        cls = sensor_class(key)
        assert issubclass(cls, PowerSensor) and cls.key == key
        assert cls.config_cls().type == key


def test_union_dispatches_on_type_includes_auto_and_forbids_extra_fields():
    adapter = TypeAdapter(power_config_union())
    assert adapter.validate_python({"type": "auto"}).type == "auto"
    assert adapter.validate_python({"type": "rapl", "sysfs_root": "/x"}).sysfs_root == "/x"
    with pytest.raises(ValidationError, match="sysfs_rot"):
        adapter.validate_python({"type": "rapl", "sysfs_rot": "/x"})
    with pytest.raises(ValidationError):
        create_sensor({"type": "powermeter"})


def test_unknown_key_is_rejected():
    with pytest.raises(ValueError, match="unknown sensor type"):
        sensor_class("powermeter")


def test_power_sample_is_frozen():
    sample = PowerSample(1.0, 2.5, "rapl", "package-0", False, {"package-0": 2.5})
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.watts = 3.0  # type: ignore[misc]
    assert PowerSample(1.0, 2.0, "estimate", "estimated", True).rails == {}


def test_importing_every_sensor_spawns_nothing_and_reads_no_hardware():
    code = ("import subprocess, sys\n"
            "calls = []\n"
            "subprocess.Popen.__init__ = lambda *a, **k: calls.append(a)\n"
            "import firmware_py.power as p\n"
            "[p.sensor_class(k) for k in p.SENSOR_TYPES]\n"
            "p.power_config_union()\n"
            "assert not calls, calls\n"
            "assert not {'torch', 'models', 'export'} & set(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
