"""The board profile's ``sinks`` section: where detections and stats leave the device, one
optional entry per transport (null or absent = off). ``specks run --jsonl/--udp/--mqtt``
override an entry's fields or add the entry (:mod:`firmware_py.pipeline.deployment`).

Schema only: the transports' configs, not their plugins (paho is imported by the ``mqtt``
plugin when a sink is made, never by reading a profile).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from firmware_py.sinks.jsonl import JsonlConfig
from firmware_py.sinks.mqtt_config import MqttConfig
from firmware_py.sinks.udp import UdpConfig


class SinksConfig(BaseModel):
    """One optional config per sink plugin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jsonl: JsonlConfig | None = Field(None, description="detections and stats as JSON lines, "
                                      "to a rotated file or stdout; null = off")
    udp: UdpConfig | None = Field(None, description="one JSON datagram per message; null = off")
    mqtt: MqttConfig | None = Field(None, description="MQTT broker (QoS 1/2, spooled while "
                                    "away, TLS); null = off")

    def enabled(self) -> list[JsonlConfig | UdpConfig | MqttConfig]:
        """The configs of the sinks that are on, in a fixed order."""
        return [c for c in (self.jsonl, self.udp, self.mqtt) if c is not None]
