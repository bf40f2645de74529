"""``specks listen``: the boards' detections from an MQTT broker, each message exactly once, as
JSON lines on stdout (to pipe into whatever consumes them).

The MQTT sink delivers at least once (:mod:`~firmware_py.sinks.mqtt`); this consumer drops
repeats by ``(run_id, seq)`` (:class:`~firmware_py.sinks.dedupe.Deduplicator`). It subscribes
at QoS 1 to ``<prefix>/<device>/detections`` (``+``: every device; ``--stats`` adds the stats
topic) with a persistent session (``clean_session`` false, a fixed client id), so a broker that
stays up keeps what arrives while the listener is away, and reconnects with backoff when the
broker goes. Each line is the message's own JSON payload, flushed as it arrives. Broker URL,
TLS and credentials as ``specks run --mqtt`` takes them (:mod:`~firmware_py.sinks.mqtt_config`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, TextIO

from firmware_py.sinks.dedupe import Deduplicator

log = logging.getLogger(__name__)


class Listener:
    """Writes each first-seen message to ``out``; stops the client after ``count`` lines."""

    def __init__(self, out: TextIO, count: int | None) -> None:
        self.out = out
        self.count = count
        self.written = 0
        self.dedupe = Deduplicator()

    def on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            payload = json.loads(message.payload)
            new = self.dedupe.first(payload)
        except (ValueError, KeyError, TypeError) as e:
            log.warning("listen: %s: skipped a message that is not a Specks message (%s)",
                        message.topic, e)
            return
        if not new:
            return
        self.out.write(message.payload.decode() + "\n")
        self.out.flush()
        self.written += 1
        if self.count is not None and self.written >= self.count:
            client.disconnect()


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of lines >= 1, got {text}")
    return value


def topics(prefix: str, device: str, stats: bool) -> list[str]:
    return [f"{prefix}/{device}/{kind}" for kind in ("detections", "stats")[:1 + stats]]


def listen(args: argparse.Namespace) -> int:
    import paho.mqtt.client as mqtt
    from pydantic import ValidationError

    from firmware_py.pipeline.deployment import mqtt_fields
    from firmware_py.sinks.mqtt_config import MqttConfig, credentials, tls_context

    try:
        config = MqttConfig(**mqtt_fields(args.url, "url"), ca_file=args.ca_file)
    except ValidationError as e:
        raise ValueError(f"url / --ca-file: {e.errors()[0]['msg']}") from None
    listener = Listener(sys.stdout, args.count)
    subscriptions = [(topic, 1) for topic in topics(args.topic_prefix, args.device, args.stats)]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id,
                         protocol=mqtt.MQTTv311, clean_session=False)
    client.on_connect = lambda c, u, flags, reason, p: (
        c.subscribe(subscriptions) if not reason.is_failure
        else log.warning("listen: the broker refused the connection: %s", reason))
    client.on_message = listener.on_message
    client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)
    username, password = credentials(config)
    if username is not None:
        client.username_pw_set(username, password)
    if (context := tls_context(config)) is not None:
        client.tls_set_context(context)
    client.connect_async(config.host, config.broker_port, keepalive=config.keepalive_s)
    try:
        client.loop_forever(retry_first_connection=True)
    except KeyboardInterrupt:
        client.disconnect()
    log.info("listen: %d messages written, %d repeats dropped", listener.written,
             listener.dedupe.repeats)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from firmware_py.cli import one_line_errors

    p = subparsers.add_parser("listen", help="detections from an MQTT broker, each message "
                              "once, as JSON lines", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url", help="mqtt://[user@]host[:port] or mqtts:// (TLS, port 8883)")
    p.add_argument("--device", default="+", help="device name; + = every device (default)")
    p.add_argument("--topic-prefix", default="specks", help="first topic level(s)")
    p.add_argument("--stats", action="store_true", help="stats messages too")
    p.add_argument("--count", type=_count, default=None, help="exit after this many lines")
    p.add_argument("--ca-file", default=None, help="PEM CA that signs the broker's certificate")
    p.add_argument("--client-id", default="specks-listen",
                   help="MQTT client id of the persistent session")
    p.set_defaults(func=one_line_errors(listen, lambda: (ValueError, OSError)))
