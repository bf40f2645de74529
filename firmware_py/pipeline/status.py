"""The live one-line status of ``specks run``: rewritten in place on a terminal, logged once
per stats period otherwise (a service's journal, a CI log)."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from firmware_py.pipeline.runner import source_lost

log = logging.getLogger("specks.run")


def status_line(stats: dict[str, Any]) -> str:
    """``12.3 fps | tiles 8.0/32 | latency 81 ms (infer 62) | 3 det | 2.41 W / 3 W``, then
    what is wrong, if anything (frames skipped, the source lost, the MQTT broker away)."""
    parts = [f"{stats.get('inference_fps') or 0.0:.1f} fps"]
    if stats.get("tiles_per_frame") is not None:
        parts.append(f"tiles {stats['tiles_per_frame']:.1f}/{stats.get('grid_tiles', '?')}")
    if stats.get("latency_ms_mean") is not None:
        infer = stats.get("infer_ms_mean") or 0.0
        parts.append(f"latency {stats['latency_ms_mean']:.0f} ms (infer {infer:.0f})")
    parts.append(f"{stats.get('detections', 0)} det")
    if stats.get("power_w") is not None:
        estimated = " (estimated)" if stats.get("power_estimated") else ""
        budget = f" / {stats['budget_w']:g} W" if stats.get("budget_w") else ""
        parts.append(f"{stats['power_w']:.2f} W{budget}{estimated}")
    if stats.get("skipped_total"):
        parts.append(f"skipped {stats['skipped_total']}")
    if source_lost(stats):
        parts.append(f"SOURCE LOST ({stats.get('gap_s', 0):.0f} s)")
    if stats.get("mqtt_state") == "disconnected":
        parts.append(f"MQTT DOWN ({stats.get('spool_depth', 0)} spooled)")
    return " | ".join(parts)


class StatusLine:
    """Callable on each stats dict."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def __call__(self, stats: dict[str, Any]) -> None:
        line = status_line(stats)
        if self.live:
            self.stream.write(f"\r\x1b[2K{line}")
            self.stream.flush()
        else:
            log.info("%s", line)

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
