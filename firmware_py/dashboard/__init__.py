"""The live dashboard: an HTTP server inside the pipeline showing what the board sees and does.

One page (``/``) with the live view (``/stream.mjpg``: frames with their boxes and the tiles
run on them), detections and stats as Server-Sent Events (``/events``), charts of power
against the budget and of FPS, and the current board, bundle, model and mode. ``/api/state``
is a JSON snapshot and ``/healthz`` a liveness check. It binds ``127.0.0.1`` by default and
refuses any other address without a bearer token (:mod:`~firmware_py.dashboard.config`).

The pipeline owns one :class:`Dashboard`: it is a :class:`~firmware_py.sinks.Sink` (add it to
the sinks for detections and stats), and takes frames with :meth:`Dashboard.publish_frame`.
Nothing the pipeline calls waits for a client: frames are referenced, not copied, and drawn and
encoded on a worker thread only while someone watches, at most ``max_fps`` times a second;
events go to per-client bounded queues that drop their oldest entry when a client falls behind
(:mod:`~firmware_py.dashboard.broadcast`). Standard library, numpy and OpenCV only.

The package is imported whenever a board profile is read (its settings are a section of the
profile), so this module only names its parts and imports them on first use (PEP 562): a run
without a dashboard never loads the HTTP server, the page or the MJPEG encoder.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"Dashboard": "live", "DashboardConfig": "config", "DashboardSettings": "config",
          "dashboard_config": "config", "is_loopback": "config"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
