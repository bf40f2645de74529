"""``specks run``: the device pipeline on a board profile, a bundle and a source.

The profile holds the deployment (sinks, dashboard, stats log, power budget); the deployment
options override it (:mod:`~firmware_py.pipeline.deployment`). Under ``specks.service`` the
loop tells systemd it is ready and feeds its watchdog (:mod:`firmware_py.device.sdnotify`).
Each start is a new run: its id (:mod:`firmware_py.sinks.stamp`) is logged at the start and
carried by every message the run emits.
"""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path
from typing import Any

from firmware_py.board import BoardConfigError
from firmware_py.device import DeviceError
from firmware_py.device.sdnotify import Notifier
from firmware_py.pipeline.build import RunSpec, build_dashboard, build_pipeline, frame_feed
from firmware_py.pipeline.deployment import DeploymentOptions, load_deployment
from firmware_py.pipeline.model import ModelError
from firmware_py.pipeline.runner import RunLimits, StatsCallback
from firmware_py.pipeline.status import StatusLine, status_line
from firmware_py.shipped import DEFAULT_BUNDLE
from firmware_py.sources import SourceError
from firmware_py.sparse import MODES
from firmware_py.verify import BundleError

log = logging.getLogger("specks.run")



def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="run the detection pipeline on a camera or file")
    p.add_argument("--board", default="x86-generic", help="board profile name or YAML path")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a board profile field, e.g. runtime.threads=4")
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="detector bundle "
                   "(default: the shipped specknet-nano)")
    p.add_argument("--prior-bundle", type=Path, default=None, help="saliency prior bundle "
                   "for sparse mode, e.g. the shipped models/zoo/bundles/csnet-prior (default: "
                   "none; the motion and detection cues alone measured better on x86, see "
                   "bench/pipeline.py)")
    p.add_argument("--source", default=None, help="camera, file, folder, clip, URL or "
                   "GStreamer pipeline (default: the board's camera)")
    p.add_argument("--mode", choices=MODES, default=None, help="default: the board's mode")
    p.add_argument("--trusted-keys", type=Path, action="append", default=[],
                   help="directory or .pub file of trusted signing keys (repeatable)")
    p.add_argument("--jsonl", default=None, metavar="PATH", help="detections as JSON lines "
                   "('-' = stdout); overrides the profile's sinks.jsonl.path")
    p.add_argument("--udp", default=None, metavar="HOST:PORT", help="JSON datagrams; "
                   "overrides sinks.udp's address")
    p.add_argument("--mqtt", default=None, metavar="URL", help="mqtt://[user@]host[:port] or "
                   "mqtts:// (TLS, port 8883); overrides sinks.mqtt's broker, keeps its other "
                   "fields. The password: $SPECKS_MQTT_PASSWORD or sinks.mqtt.password_file")
    p.add_argument("--spool-dir", type=Path, default=None, help="where MQTT messages wait "
                   "while the broker is away (default: the profile's sinks.mqtt.spool_path)")
    p.add_argument("--frames", type=int, default=0, help="stop after N frames (0 = no limit)")
    p.add_argument("--duration", type=float, default=0.0, help="stop after S seconds")
    p.add_argument("--loop", action="store_true", help="replay a file, folder or clip forever")
    p.add_argument("--no-realtime", dest="realtime", action="store_false", default=None,
                   help="read files as fast as the pipeline takes them (no frame drops; "
                   "default: the profile's capture.drop)")
    p.add_argument("--health-file", type=Path, default=None, help="rewrite a JSON health "
                   "record here every stats period")
    p.add_argument("--power-budget", type=float, default=None, metavar="WATTS",
                   help="hold the measured power at this budget (default: the board's "
                   "power.budget_w; sparse mode)")
    p.add_argument("--stats-log", default=None, metavar="PATH", help="append a stats record "
                   "per period here (.csv or .jsonl, rotated; default: the profile's "
                   "telemetry.log_path); `specks report` plots it")
    p.add_argument("--dashboard", nargs="?", const="", default=None, metavar="HOST:PORT",
                   help="serve the live dashboard (default: the profile's dashboard address, "
                   "else 127.0.0.1:8080; any other host needs $SPECKS_DASHBOARD_TOKEN)")
    p.add_argument("--quiet", action="store_true", help="no status line")
    p.set_defaults(func=run)


def _on_stats(status: StatusLine | None, notifier: Notifier) -> StatsCallback:
    """Each stats record to the status line and, under systemd, to the unit's status."""
    def on_stats(stats: dict[str, Any]) -> None:
        if status is not None:
            status(stats)
        notifier.status(status_line(stats))

    return on_stats


def _deployment(args: argparse.Namespace) -> DeploymentOptions:
    return DeploymentOptions(jsonl=args.jsonl, udp=args.udp, mqtt=args.mqtt,
                             spool_dir=args.spool_dir, dashboard=args.dashboard,
                             stats_log=args.stats_log, power_budget_w=args.power_budget)


def run(args: argparse.Namespace) -> int:
    try:
        board = load_deployment(args.board, args.overrides, _deployment(args))
        spec = RunSpec(bundle=args.bundle, source=args.source, mode=args.mode,
                       prior_bundle=args.prior_bundle, trusted_keys=args.trusted_keys,
                       loop=args.loop, realtime=args.realtime, health_file=args.health_file)
        dashboard = build_dashboard(board)
        pipeline = build_pipeline(board, spec, [dashboard] if dashboard else [])
    except (BoardConfigError, BundleError, DeviceError, ModelError, SourceError, ValueError,
            OSError) as error:
        log.error("%s", error)
        return 2
    if dashboard is not None:
        pipeline.on_frame = frame_feed(dashboard, pipeline.processor.detector.labels)
        dashboard.set_info(**{k: pipeline.info[k] for k in ("board", "bundle", "model")},
                           mode=pipeline.processor.mode, run_id=pipeline.run_id)
        try:
            log.info("dashboard at %s", dashboard.start())
        except OSError as error:
            log.error("%s", error.strerror or error)
            return 2
    status = None if args.quiet else StatusLine()
    pipeline.on_stats = _on_stats(status, pipeline.notifier)
    signal.signal(signal.SIGTERM, lambda *_: pipeline.stop())
    log.info("%s on %s: %s, %s mode, source %s, run %s", pipeline.info["model"], board.name,
             pipeline.info["artifact"], pipeline.processor.mode, pipeline.info["source"],
             pipeline.run_id)
    try:
        stats = pipeline.run(RunLimits(args.frames, args.duration))
    except KeyboardInterrupt:
        pipeline.stop()
        stats = {}
    if status is not None:
        status.close()
    failure = pipeline.source_failure
    if failure is not None:
        log.error("source %s failed after %d frames: %s", pipeline.info["source"],
                  pipeline.frames, failure)
        return 2
    log.info("done: %d frames; %s", pipeline.frames, status_line(stats) if stats else "")
    return 0
