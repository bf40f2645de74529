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

A profile holds the whole deployment, so ``specks run --board rpi5`` (and the unit that
``specks device install --service`` writes) needs no other option: ``sinks`` (jsonl, udp,
mqtt: :mod:`firmware_py.sinks.config`), ``dashboard`` (its settings; the token only from the
environment), the stats log (``telemetry.log_path``) and the power budget
(``power.budget_w``). ``specks run``'s options override those fields or add a section
(``updates`` of :func:`load_board`). Secrets (the MQTT password, the dashboard token) are
never profile fields: they come from the environment or a file the profile names.

This module imports only the sections' schemas, never the code that runs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from firmware_py.dashboard.config import DashboardSettings
from firmware_py.nms import Metric
from firmware_py.power.config import PowerConfig
from firmware_py.shipped import BOARDS
from firmware_py.sinks.config import SinksConfig
from firmware_py.sources import source_config_union
from firmware_py.sources.capture import CaptureConfig
from firmware_py.sparse import CarryConfig, Mode, PriorConfig, SamplerConfig, TrackerConfig
from firmware_py.telemetry.config import TelemetryConfig
from firmware_py.yaml_error import yaml_problem

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
    threads: int = Field(2, ge=1, le=64, description="inference threads (LiteRT interpreter, "
                         "ExecuTorch threadpool)")


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
    score_threshold: float | None = Field(None, ge=0.0, le=1.0, description="detections below "
                                          "this (carried ones included) are not reported; "
                                          "null = the bundle's deployed threshold (chosen on "
                                          "its validation split by the exporter)")
    class_agnostic: bool = Field(True, description="merge across classes: one object, one "
                                 "box, even when the heatmap peaks in two class channels")


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
    sinks: SinksConfig = Field(default_factory=SinksConfig, description="where detections and "
                               "stats go: jsonl, udp, mqtt (each null = off)")
    dashboard: DashboardSettings | None = Field(None, description="the live dashboard (token "
                                                "from $SPECKS_DASHBOARD_TOKEN); null = off")


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
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": 1}, "c": "x"}`` (values parsed as YAML); a
    malformed pair is a :class:`BoardConfigError` naming it."""
    tree: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise BoardConfigError(f"--set {pair!r}: expected key=value, key a dotted field "
                                   "path such as runtime.threads")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise BoardConfigError(f"--set {pair!r}: '{part}' is given a value by another "
                                       "--set, so it has no fields to set")
        node[parts[-1]] = _yaml_value(pair, value)
    return tree


def _yaml_value(pair: str, value: str) -> Any:
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise BoardConfigError(f"--set {pair!r}: the value is not valid YAML "
                               f"({yaml_problem(error)})") from None


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        out[key] = _merge(old, value) if isinstance(old, dict) and isinstance(value, dict) \
            else value
    return out


def _given_by(field: str, overrides: Iterable[str]) -> str | None:
    """The ``--set`` pair that set ``field`` (or a field inside it, or a section holding it)."""
    for pair in overrides:
        key = pair.partition("=")[0].strip()
        if field == key or field.startswith(f"{key}.") or key.startswith(f"{field}."):
            return pair
    return None


def _shown(text: str) -> str:
    """``text`` as typed, or quoted with escapes when it holds a newline or control char."""
    return text if text.isprintable() else repr(text)


def _describe(error: ValidationError, source: str, overrides: Iterable[str] = ()) -> str:
    """One line naming every bad field, and the ``--set`` that gave it when one did."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(profile)"
        given = _given_by(field, overrides)
        origin = f" (from --set {_shown(given)})" if given else ""
        parts.append(f"field '{_shown(field)}'{origin}: {_shown(item['msg'])}")
    return f"{source}: invalid board profile: " + "; ".join(parts)


def update_board(board: BoardConfig, updates: dict[str, Any], source: str) -> BoardConfig:
    """``board`` with ``updates`` (a nested mapping, e.g. from command-line options) merged
    over the fields the profile set, validated again; :class:`BoardConfigError` names
    ``source`` and the field."""
    data = _merge(board.model_dump(exclude_unset=True), updates)
    try:
        return BoardConfig.model_validate(data)
    except ValidationError as e:
        raise BoardConfigError(_describe(e, source)) from None


def load_board(name_or_path: str, overrides: Iterable[str] = (),
               updates: dict[str, Any] | None = None) -> BoardConfig:
    """Read, override and validate a profile; :class:`BoardConfigError` names file and field.
    ``updates`` (a nested mapping, e.g. from ``specks run``'s options) are merged over the
    file, then the ``--set`` ``overrides``."""
    path = find_board(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise BoardConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") \
            from None
    except yaml.YAMLError as e:
        raise BoardConfigError(f"{path}: not valid YAML: {yaml_problem(e)}") from None
    if not isinstance(data, dict):
        raise BoardConfigError(f"{path}: a board profile is a mapping of fields")
    data = _merge(_merge(data, updates or {}), parse_overrides(overrides))
    try:
        return BoardConfig.model_validate(data)
    except ValidationError as e:
        source = f"{path} with the command-line options" if updates else str(path)
        raise BoardConfigError(_describe(e, source, overrides)) from None
