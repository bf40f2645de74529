"""Board profiles: one YAML file per board in ``board_configs/`` (``rpi5.yaml``,
``x86-generic.yaml``, ...), validated by one pydantic schema. Every field has a default, a
description and bounds, and unknown fields are refused (``extra="forbid"``), so a typo is
reported by name and file instead of being silently ignored.

A profile is found by name in ``$SPECKS_BOARD_DIR``, ``/etc/specks/boards`` and the profiles
shipped with Specks (``firmware_py.shipped.BOARDS``: inside the installed package, or the
checkout's ``board_configs/``), in that order, or given as a path. ``--set key=value`` overrides any
field by its dotted path; the value is parsed as YAML (``--set runtime.threads=4``,
``--set camera.type=v4l2``).

The ``power`` section names the power sensor (a :mod:`firmware_py.power` plugin config, or
``auto``), the budget the governor holds, its frame-rate floor, and the coefficients of the
CPU-utilisation estimate that stands in when the sensor is missing or fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from firmware_py.nms import Metric
from firmware_py.power import power_config_union
from firmware_py.power.estimate import EstimateConfig
from firmware_py.shipped import BOARDS
from firmware_py.sources import source_config_union
from firmware_py.sources.capture import CaptureConfig
from firmware_py.sparse import CarryConfig, Mode, PriorConfig, SamplerConfig, TrackerConfig
from firmware_py.telemetry import TelemetryConfig

SYSTEM_BOARDS = Path("/etc/specks/boards")


class BoardConfigError(ValueError):
    """A board profile is missing or invalid; the message names the file and the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuntimeConfig(_Section):
    """Which artifact of a bundle runs, and how."""

    prefer: Literal["litert", "executorch"] = Field("litert", description="runtime tried "
                                                    "first; the other is the fallback")
    precision: Literal["int8", "fp32"] = Field("int8", description="artifact precision tried "
                                               "first; the other is the fallback")
    threads: int = Field(2, ge=1, le=64, description="interpreter threads (LiteRT)")


class TilesConfig(_Section):
    """How the full-resolution frame is cut; the tile size comes from the bundle."""

    overlap: float = Field(0.2, ge=0.0, lt=0.9, description="overlap of neighbouring tiles, "
                           "fraction of the tile side")
    cut_margin: float = Field(1.0, ge=0.0, le=64.0, description="pixels within which a box "
                              "touches a tile side (TileGrid.cut_mask)")


class MergeConfig(_Section):
    """Cross-tile merging after cut boxes are dropped: NMS, or SAHI's greedy NMM."""

    method: Literal["nms", "greedy_nmm"] = Field("nms", description="merge rule")
    metric: Metric = Field("iou", description="overlap metric: IoU or IoS")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="overlap above which boxes "
                             "are merged or suppressed")
    score_threshold: float = Field(0.3, ge=0.0, le=1.0, description="detections below this "
                                   "(carried ones included) are not reported")
    class_agnostic: bool = Field(True, description="merge across classes: one object, one "
                                 "box, even when the heatmap peaks in two class channels")


class PowerConfig(_Section):
    """The board's power sensor and budget, read by telemetry and the governor."""

    sensor: power_config_union() = Field(  # type: ignore[valid-type]
        default_factory=lambda: {"type": "auto"}, validate_default=True,
        description="power sensor (a power plugin config with its 'type', or 'auto' to "
        "detect); a missing or failing one degrades to the estimate")
    budget_w: float | None = Field(None, gt=0.0, le=1000.0, description="power budget the "
                                   "governor holds, watts; null = no budget")
    min_fps: float = Field(1.0, ge=0.0, le=240.0, description="frame rate the governor never "
                           "goes below, even over budget; 0 = no floor")
    estimate: EstimateConfig = Field(default_factory=EstimateConfig, description="coefficients "
                                     "of the CPU-utilisation estimate: used when sensor is "
                                     "'estimate', when 'auto' finds none, and as the fallback")

    @model_validator(mode="after")
    def _coefficients_in_one_place(self) -> PowerConfig:
        if self.sensor.type == "estimate" and self.sensor.model_fields_set - {"type"}:
            raise ValueError("with sensor type 'estimate', set its coefficients under "
                             "power.estimate, not power.sensor")
        return self


class BoardConfig(_Section):
    """A board profile."""

    name: str = Field("x86-generic", min_length=1, max_length=64, description="profile name")
    description: str = Field("", max_length=500, description="what the board is")
    device_id: str = Field("", max_length=64, description="id in sink topics and messages; "
                           "empty = the host name")
    camera: source_config_union() = Field(  # type: ignore[valid-type]
        default_factory=lambda: {"type": "v4l2"}, validate_default=True,
        description="frame source (a sources plugin config with its 'type')")
    capture: CaptureConfig = Field(default_factory=CaptureConfig, description="capture thread")
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig, description="model runtime")
    mode: Mode = Field("sparse", description="inference mode: dense, sparse or full_frame")
    tiles: TilesConfig = Field(default_factory=TilesConfig, description="tile grid")
    merge: MergeConfig = Field(default_factory=MergeConfig, description="cross-tile merge")
    prior: PriorConfig = Field(default_factory=PriorConfig, description="tile prior weights")
    sampler: SamplerConfig = Field(default_factory=SamplerConfig, description="tile budget "
                                   "and revisit guarantee")
    carry: CarryConfig = Field(default_factory=CarryConfig, description="detection carry")
    tracks: TrackerConfig = Field(default_factory=TrackerConfig, description="track ids and "
                                  "the motion the carry follows")
    power: PowerConfig = Field(default_factory=PowerConfig, description="power sensor and "
                               "budget")
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig, description="stats "
                                       "windows, periods and the stats log")


def board_dirs() -> list[Path]:
    """Where profiles are looked up by name, first match wins."""
    env = os.environ.get("SPECKS_BOARD_DIR")
    return ([Path(env)] if env else []) + [SYSTEM_BOARDS, BOARDS]


def find_board(name_or_path: str) -> Path:
    """The YAML file of a profile name (``rpi5``) or path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise BoardConfigError(f"{path}: board profile not found")
        return path
    for folder in board_dirs():
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    raise BoardConfigError(f"unknown board {name_or_path!r}; known: {', '.join(list_boards())}")


def list_boards() -> list[str]:
    """Names of the profiles found in the lookup folders."""
    names = {p.stem for folder in board_dirs() if folder.is_dir()
             for p in folder.glob("*.yaml")}
    return sorted(names)


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": 1}, "c": "x"}`` (values parsed as YAML)."""
    tree: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BoardConfigError(f"--set {pair!r}: expected key=value")
        *parents, leaf = key.strip().split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return tree


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        out[key] = _merge(old, value) if isinstance(old, dict) and isinstance(value, dict) \
            else value
    return out


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid board profile ({error.error_count()} errors)"]
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"])
        lines.append(f"  field '{field}': {item['msg']}")
    return "\n".join(lines)


def load_board(name_or_path: str, overrides: Iterable[str] = ()) -> BoardConfig:
    """Read, override and validate a profile; :class:`BoardConfigError` names file and field."""
    path = find_board(name_or_path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise BoardConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise BoardConfigError(f"{path}: a board profile is a mapping of fields")
    data = _merge(data, parse_overrides(overrides))
    try:
        return BoardConfig.model_validate(data)
    except ValidationError as e:
        raise BoardConfigError(_describe(e, str(path))) from None
