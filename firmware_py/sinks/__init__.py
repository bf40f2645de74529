"""Sinks: where detections and stats leave the device. One small interface, one plugin file
per transport (Frigate's ``detectors/plugins`` layout).

Plugins (key -> module): ``jsonl`` (stdout or a size-rotated file), ``udp`` (one JSON datagram
per message, fire and forget), ``mqtt`` (paho-mqtt, QoS 1, retained availability with a last
will, and an on-disk :mod:`~firmware_py.sinks.spool` so nothing is lost while the broker is
away). Each module registers one :class:`Sink` subclass whose pydantic config has
``type: Literal[<key>]``. Plugins are imported only when asked for (paho only with ``mqtt``),
and none opens a socket or a file at import time.

Every payload is built by :mod:`firmware_py.sinks.message`, so all sinks send the same JSON.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from firmware_py.plugins import PluginRegistry
from firmware_py.sinks.message import DetectionMessage

SINK_TYPES = ("jsonl", "udp", "mqtt")

__all__ = ["SINK_TYPES", "DetectionMessage", "Sink", "SinkConfig", "create_sink",
           "register_sink", "sink_class", "sink_config_union"]


class SinkConfig(BaseModel):
    """Base of every sink config; a plugin adds ``type: Literal[<key>]`` and its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sink(ABC):
    """Publishes one :class:`DetectionMessage` per processed frame and periodic stats.

    ``publish_*`` never block on the network for long and never raise for a transport
    failure: a sink counts what it could not deliver (see :meth:`counters`)."""

    key: ClassVar[str]
    config_cls: ClassVar[type[SinkConfig]]

    def __init__(self, config: SinkConfig) -> None:
        self.config = config

    @abstractmethod
    def publish_detections(self, message: DetectionMessage) -> None:
        """Send the detections of one frame."""

    @abstractmethod
    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        """Send one stats snapshot (named counters; numpy values are fine)."""

    @abstractmethod
    def close(self) -> None:
        """Flush what can be flushed and release the transport; safe to call twice."""

    def counters(self) -> dict[str, int]:
        """The sink's own named counters (e.g. ``dropped``), for the stats emitter."""
        return {}

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_PLUGINS: PluginRegistry[type[Sink]] = PluginRegistry(__name__, SINK_TYPES, "sink")
register_sink = _PLUGINS.register
sink_class = _PLUGINS.get
sink_config_union = _PLUGINS.config_union


def create_sink(config: SinkConfig | Mapping[str, Any], **kwargs: Any) -> Sink:
    """Build a sink from its config (a model, or a mapping with ``type``); ``kwargs`` go to the
    plugin's constructor (e.g. ``stream`` for ``jsonl``)."""
    return _PLUGINS.create(config, **kwargs)
