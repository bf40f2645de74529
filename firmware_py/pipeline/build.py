"""Assemble a :class:`~firmware_py.pipeline.runner.Pipeline` from a board profile and the
``specks run`` options: verify and load the bundles, pick the source, create the profile's
sinks and dashboard (the options were already applied to the profile,
:mod:`~firmware_py.pipeline.deployment`).

Trusted keys follow :mod:`firmware_py.trust` (``--trusted-keys``, else
``$SPECKS_TRUSTED_KEYS``, else ``/etc/specks/trusted_keys``, else the shipped zoo key). A
bundle that fails verification is refused before anything runs.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from firmware_py.board import BoardConfig
from firmware_py.device.compat import check_board
from firmware_py.governor import GovernorConfig
from firmware_py.pipeline.frame import FrameProcessor, FrameResult
from firmware_py.pipeline.model import BundleModel
from firmware_py.pipeline.runner import Pipeline
from firmware_py.pipeline.source_spec import describe, source_config
from firmware_py.power import open_board_sensor
from firmware_py.sinks import SinkConfig, create_sink
from firmware_py.sources import create_source
from firmware_py.sparse import Mode
from firmware_py.telemetry import TelemetryEmitter
from firmware_py.verify_child import verify_in_child

log = logging.getLogger(__name__)


@dataclass
class RunSpec:
    """What ``specks run`` was asked for beyond the board profile (which holds the
    deployment: sinks, dashboard, stats log, power budget)."""

    bundle: Path
    source: str | None = None
    mode: Mode | None = None
    prior_bundle: Path | None = None
    trusted_keys: list[Path] = field(default_factory=list)
    loop: bool = False
    realtime: bool | None = None  # files: True paces and drops, False takes every frame;
    # None keeps the profile's (capture.drop, the source's realtime)
    health_file: Path | None = None


def device_id(board: BoardConfig) -> str:
    return board.device_id or socket.gethostname().split(".")[0] or "specks"


def sink_configs(board: BoardConfig) -> list[SinkConfig]:
    """The profile's sinks; MQTT's device topic level is the board's device id unless the
    profile sets one."""
    configs: list[SinkConfig] = []
    for config in board.sinks.enabled():
        if config.type == "mqtt" and "device" not in config.model_fields_set:
            config = type(config).model_validate({**config.model_dump(exclude_unset=True),
                                                  "device": device_id(board)})
        configs.append(config)
    return configs


def open_sinks(configs: list[SinkConfig]) -> list[Any]:
    """The sinks, each opened now; one that cannot be (a folder it may not write) closes those
    already open and is named in a ``ValueError``."""
    sinks: list[Any] = []
    for config in configs:
        try:
            sinks.append(create_sink(config))
        except (OSError, ValueError) as e:
            for sink in sinks:
                sink.close()
            if isinstance(e, ValueError):
                raise
            raise ValueError(f"sinks.{config.type}: {e}") from None  # type: ignore[attr-defined]
    return sinks


def build_dashboard(board: BoardConfig) -> Any:
    """The profile's dashboard with the token from the environment, or None when it is off;
    ``ValueError`` (one line) when it may not start."""
    if board.dashboard is None:
        return None
    from firmware_py.dashboard import Dashboard, dashboard_config

    try:
        return Dashboard(dashboard_config(board.dashboard))
    except ValidationError as e:
        raise ValueError(f"dashboard: {e.errors()[0]['msg'].removeprefix('Value error, ')}") \
            from None


def frame_feed(dashboard: Any, names: tuple[str, ...]) -> Callable[[FrameResult], None]:
    """A ``Pipeline.on_frame`` callback that shows each frame on the dashboard, with its
    boxes and the tiles run (the whole frame in full-frame mode)."""
    def feed(result: FrameResult) -> None:
        plan, main, d = result.plan, result.frame.main, result.detections
        tiles = (np.array([[0, 0, main.shape[1], main.shape[0]]]) if plan.full_frame
                 else plan.grid.windows[plan.indices])
        labels = [names[c] if 0 <= c < len(names) else str(c) for c in d.labels.tolist()]
        dashboard.publish_frame(main, d.boxes, labels, d.scores, tiles, d.interpolated)

    return feed


def build_pipeline(board: BoardConfig, spec: RunSpec, sinks: list[Any] | None = None
                   ) -> Pipeline:
    """The pipeline for ``board`` and ``spec``; extra ``sinks`` (e.g. a dashboard) are added
    to those the options ask for. A bad ``--source`` is refused before a model loads."""
    config = source_config(spec.source, board.camera, spec.loop)
    rt = board.runtime
    detector = BundleModel(spec.bundle, runtime=rt.prefer, precision=rt.precision,
                           threads=rt.threads,
                           manifest=verify_in_child(spec.bundle, spec.trusted_keys))
    check_board(detector.manifest, board)
    prior = None
    if spec.prior_bundle is not None:
        prior = BundleModel(spec.prior_bundle, runtime=rt.prefer, precision=rt.precision,
                            threads=rt.threads,
                            manifest=verify_in_child(spec.prior_bundle, spec.trusted_keys))
    mode = spec.mode or board.mode
    processor = FrameProcessor(board, detector, mode, prior if mode == "sparse" else None)
    capture = board.capture
    offline = config.type in ("file", "folder", "synth")  # type: ignore[attr-defined]
    if spec.realtime is not None and offline:
        if "realtime" in type(config).model_fields:
            config = config.model_copy(update={"realtime": spec.realtime})
        capture = capture.model_copy(update={"drop": spec.realtime})
    device = device_id(board)
    outputs = open_sinks(sink_configs(board))
    info = {"board": board.name, "bundle": str(spec.bundle), "model": detector.manifest.model,
            "artifact": detector.artifact.file, "source": describe(config)}
    outputs += list(sinks or [])
    emitter = TelemetryEmitter.from_config(board.telemetry, outputs,
                                           open_board_sensor(board.power))
    return Pipeline(processor, create_source(config), outputs, device, emitter, capture,
                    governor_config(board, config),
                    health_file=spec.health_file, info=info)


def governor_config(board: BoardConfig, camera: Any) -> GovernorConfig | None:
    """The governor for the board's budget, or None without one: its frame-rate floor from
    the board, its ceiling the camera's frame rate when it has one."""
    budget_w = board.power.budget_w
    if budget_w is None:
        return None
    idle_w = board.power.estimate.idle_w
    if budget_w <= idle_w:
        log.warning("power budget %.2f W is at or below %s's idle power (about %.2f W, "
                    "power.estimate.idle_w): no frame rate can hold it, so the governor will "
                    "sit at its floor of %.2g fps", budget_w, board.name, idle_w,
                    board.power.min_fps)
    fps = getattr(camera, "fps", 0.0) or GovernorConfig.model_fields["max_fps"].default
    return GovernorConfig(budget_w=budget_w, min_fps=min(board.power.min_fps or 0.5, fps),
                          max_fps=fps)
