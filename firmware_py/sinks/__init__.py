"""Sinks: where detections and stats leave the device. One small interface, one plugin file
per transport (Frigate's ``detectors/plugins`` layout).

Plugins (key -> module): ``jsonl`` (stdout or a size-rotated file), ``udp`` (one JSON datagram
per message, fire and forget), ``mqtt`` (paho-mqtt, QoS 1, retained availability with a last
will, and an on-disk :mod:`~firmware_py.sinks.spool` so nothing is lost while the broker is
away). Each module registers one :class:`Sink` subclass whose pydantic config has
``type: Literal[<key>]``. Plugins are imported only when asked for (paho only with ``mqtt``),
and none opens a socket or a file at import time.

Every payload is built by :mod:`firmware_py.sinks.message`, so all sinks send the same JSON,
and stamped by :mod:`firmware_py.sinks.stamp` (run id and sequence number) before any sink
sees it.

Every stats record carries the sinks' state (:func:`sink_status`): ``mqtt_state``
(``connected``, ``disconnected``, or ``disabled`` without an MQTT sink) and ``spool_depth``
(messages waiting in the MQTT spool on disk; 0 without one), so the stats log, the dashboard
and the other sinks show a broker outage, not only the MQTT sink's own stats.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from firmware_py.plugins import PluginRegistry
from firmware_py.sinks.message import DetectionMessage

SINK_TYPES = ("jsonl", "udp", "mqtt")

STATUS_DEFAULTS: dict[str, Any] = {"mqtt_state": "disabled", "spool_depth": 0}

__all__ = ["SINK_TYPES", "STATUS_DEFAULTS", "DetectionMessage", "Sink", "SinkConfig",
           "create_sink", "register_sink", "sink_class", "sink_config_union", "sink_status"]


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

    def status(self) -> dict[str, Any]:
        """Keys of :data:`STATUS_DEFAULTS` this sink sets in every stats record (see
        :func:`sink_status`); most sinks set none."""
        return {}

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_PLUGINS: PluginRegistry[type[Sink]] = PluginRegistry(__name__, SINK_TYPES, "sink")
register_sink = _PLUGINS.register
sink_class = _PLUGINS.get
sink_config_union = _PLUGINS.config_union


def sink_status(sinks: Iterable[Sink]) -> dict[str, Any]:
    """The sinks' state for a stats record: :data:`STATUS_DEFAULTS`, updated by each sink's
    :meth:`Sink.status`."""
    status = dict(STATUS_DEFAULTS)
    for sink in sinks:
        status.update(sink.status())
    return status


def create_sink(config: SinkConfig | Mapping[str, Any], **kwargs: Any) -> Sink:
    """Build a sink from its config (a model, or a mapping with ``type``); ``kwargs`` go to the
    plugin's constructor (e.g. ``stream`` for ``jsonl``)."""
    return _PLUGINS.create(config, **kwargs)
