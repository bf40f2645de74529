"""The source interface: plugin factory, config union, pacing, and a torch-free import."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from firmware_py.sources import (
    SOURCE_TYPES,
    FrameSource,
    Pacer,
    create_source,
    source_class,
    source_config_union,
)


@pytest.mark.parametrize("key", SOURCE_TYPES)
def test_every_plugin_is_found_by_key_and_built_from_a_dict(key: str) -> None:
    cls = source_class(key)
    assert issubclass(cls, FrameSource) and cls.key == key
    assert cls.config_cls.model_fields["type"].default == key
    source = create_source({"type": key, "name": f"cam-{key}"})
    assert type(source) is cls and source.name == f"cam-{key}"
    for name, field in cls.config_cls.model_fields.items():
        assert field.description or name == "type", f"{key}.{name} lacks a description"


def test_config_union_dispatches_on_type_and_forbids_unknown_fields() -> None:
    adapter = TypeAdapter(source_config_union())
    assert adapter.validate_python({"type": "v4l2", "device": "1"}).device == "1"
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "v4l2", "path": "x.mp4"})
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "webcam"})
    with pytest.raises(ValueError, match="unknown source type"):
        source_class("webcam")


def test_pacer_holds_frames_to_the_rate_without_bursting_after_a_stall() -> None:
    pacer = Pacer(100.0)
    t = time.monotonic()
    for _ in range(6):
        pacer.wait()
    assert time.monotonic() - t >= 0.045  # 5 periods of 10 ms
    time.sleep(0.05)  # a stall of 5 periods
    t = time.monotonic()
    pacer.wait()
    pacer.wait()
    assert time.monotonic() - t >= 0.008  # the next frame still waits a period


def test_sources_import_without_torch_models_or_hardware_libraries() -> None:
    code = ("import sys; import firmware_py.sources as s; import firmware_py.sources.capture\n"
            "[s.source_class(k) for k in s.SOURCE_TYPES]\n"
            "bad = [m for m in ('torch', 'models', 'export', 'picamera2', 'libcamera')"
            " if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   cwd=Path(__file__).parents[3])
