"""``mqtt``: detections and stats to an MQTT broker (paho-mqtt 2.x), at least once, in order.

Topics, for ``topic_prefix`` ``specks`` and device ``cam1``:

- ``specks/cam1/detections``: one :class:`~firmware_py.sinks.message.DetectionMessage` each;
- ``specks/cam1/stats``: stats snapshots, with this sink's counters under ``"mqtt"``;
- ``specks/cam1/availability``: ``online`` (retained) once connected, ``offline`` (retained)
  on a clean close, and ``offline`` as the last will when the connection dies abnormally.

Delivery: every message is first appended to the on-disk :class:`~firmware_py.sinks.spool.Spool`
(a write-ahead queue) and removed only when the broker acknowledges it (PUBACK for QoS 1). One
sender thread publishes from the spool head, at most ``inflight`` unacknowledged at once, so
the broker receives messages in spool order. While the broker is away messages pile up in the
spool; on reconnect the spool is replayed from its head, oldest first, before anything newer.
Messages survive a restart of the process. A message is lost only when the spool's bound is
hit (oldest first; counted in ``dropped``, logged, and reported in the stats). QoS 1 is
at-least-once: a message sent but unacknowledged when the link died is sent again.

MQTT acknowledges hop by hop: a broker's PUBACK says it took the message, not that any
subscriber got it, and a broker killed between the two (without persistence, or before its
next save) loses what it had queued for its subscribers, where no QoS can see it. So after
every reconnect the sender first publishes again the last ``resend_acked`` acknowledged
messages (kept in memory, oldest first; they precede the spool head, so order holds), then
the spool. What a dying broker acknowledged but never delivered arrives; what it delivered
arrives twice. Consumers drop repeats by ``(run_id, seq)``
(:class:`~firmware_py.sinks.dedupe.Deduplicator`, ``specks listen``), never by ``frame_id``,
which restarts with every run. A message is stamped before it is spooled, so
one replayed by a later run keeps the run id and sequence number of the run that made it.

State: :meth:`MqttSink.status` puts ``mqtt_state`` (``connected`` / ``disconnected``) and
``spool_depth`` (messages waiting on disk) in every stats record, so the stats log and the
dashboard show an outage too; the sink's own counters ride under ``"mqtt"`` in the stats it
publishes.

Reconnection: exponential backoff from ``reconnect_min_s`` doubling up to ``reconnect_max_s``,
reset by a successful connection. On close, the sender keeps trying (connecting first if it
never did) until the queue is delivered or ``flush_timeout_s`` has passed, so a short run
still delivers what it spooled. A broker outage is logged once when it starts (WARNING, with
the broker's address and the reason) and once when it ends (INFO, with its duration and the
spooled messages replayed), not per attempt (:mod:`~firmware_py.sinks.outage`); a connection
the broker refuses (bad credentials) or whose TLS handshake fails (a certificate the CA file
does not vouch for) is retried on the same backoff, its reason warned about once.

TLS and credentials: :mod:`~firmware_py.sinks.mqtt_config` (never from argv; the password
from the environment or a file). Both are loaded when the sink is made, so a missing CA file
or password file stops ``specks run`` at once with the file named.
"""

from __future__ import annotations

import collections
import logging
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any

from firmware_py.sinks import Sink, register_sink
from firmware_py.sinks.message import DetectionMessage, dumps, stats_payload
from firmware_py.sinks.mqtt_config import MqttConfig, credentials, tls_context
from firmware_py.sinks.outage import Outage
from firmware_py.sinks.spool import Spool, SpoolEntry

try:
    import paho.mqtt.client as mqtt
except ImportError:  # the [device] extra installs it; only this plugin needs it
    mqtt = None

log = logging.getLogger(__name__)

__all__ = ["MqttConfig", "MqttSink"]


class _Session:
    """State shared with one paho client's callbacks. The callbacks only record and wake:
    paho calls ``on_publish`` while holding its own message lock, so they take no lock of
    ours."""

    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake
        self.connected = threading.Event()
        self.lost = threading.Event()
        self.refused: str | None = None
        self.acks: collections.deque[int] = collections.deque()

    def on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                   properties: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            self.lost.set()
        else:
            self.connected.set()
        self.wake.set()

    def on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                      properties: Any) -> None:
        self.lost.set()
        self.wake.set()

    def on_publish(self, client: Any, userdata: Any, mid: int, reason: Any,
                   properties: Any) -> None:
        self.acks.append(mid)
        self.wake.set()


@register_sink
class MqttSink(Sink):
    key = "mqtt"
    config_cls = MqttConfig
    config: MqttConfig

    def __init__(self, config: MqttConfig) -> None:
        if mqtt is None:
            raise ImportError("the mqtt sink needs paho-mqtt>=2.0 (pip install 'specks[device]')")
        super().__init__(config)
        self.topics = config.topics
        self._tls = tls_context(config)
        self._username, self._password = credentials(config)
        self.spool = Spool(config.spool_path, config.spool_max_messages,
                           config.spool_max_bytes, config.spool_durable)
        self.delivered = 0
        self.connects = 0
        self.unacked = 0  # handed to the broker in this session, not yet acknowledged
        self.resent = 0
        self._recent: collections.deque[tuple[str, bytes]] = collections.deque(
            maxlen=config.resend_acked)  # the last acknowledged (topic, payload), oldest first
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._flush_deadline = float("inf")
        self._session: _Session | None = None
        self.outage = Outage(f"{config.host}:{config.broker_port}", config.spool_path)
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{config.device}",
                                        daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        session = self._session
        return session is not None and session.connected.is_set() and not session.lost.is_set()

    def publish_detections(self, message: DetectionMessage) -> None:
        self._enqueue(self.topics["detections"], message.to_json())

    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        self._enqueue(self.topics["stats"], dumps(stats_payload(stats, mqtt=self.counters())))

    def _enqueue(self, topic: str, payload: bytes) -> None:
        if self._closing.is_set():
            raise RuntimeError("mqtt sink used after close()")
        self.spool.put(topic, payload)
        self._wake.set()

    def counters(self) -> dict[str, int]:
        return {"queued": len(self.spool), "unacked": self.unacked, "delivered": self.delivered,
                "dropped": self.spool.dropped, "resent": self.resent, "connects": self.connects,
                "connected": int(self.connected)}

    def status(self) -> dict[str, Any]:
        return {"mqtt_state": "connected" if self.connected else "disconnected",
                "spool_depth": len(self.spool)}

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._flush_deadline = time.monotonic() + self.config.flush_timeout_s
        self._closing.set()
        self._wake.set()
        self._thread.join()
        self.spool.close()
        if len(self.spool):
            log.info("mqtt: %d messages left in %s for the next start", len(self.spool),
                     self.config.spool_path)

    # -- sender thread ------------------------------------------------------------------------

    def _finished(self) -> bool:
        """Closing, and the queue is delivered or the flush deadline has passed."""
        return self._closing.is_set() and (
            not len(self.spool) or time.monotonic() > self._flush_deadline)

    def _pause(self, seconds: float) -> None:
        """Wait before reconnecting; while closing, never past the flush deadline."""
        if not self._closing.wait(seconds):
            return
        time.sleep(max(0.0, min(seconds, self._flush_deadline - time.monotonic())))

    def _run(self) -> None:
        delay = self.config.reconnect_min_s
        while not self._finished():
            client = None
            try:
                client = self._connect()
                if client is not None:
                    try:
                        self._pump(client)
                    finally:
                        self._disconnect(client)
            except Exception:  # keep the sender alive: the spool still holds every message
                log.exception("mqtt: sender error; retrying in %.1f s", delay)
            if client is not None:
                delay = self.config.reconnect_min_s
            if self._finished():
                break
            self._pause(delay)
            if client is None:
                delay = min(2 * delay, self.config.reconnect_max_s)

    def _connect(self) -> Any:
        cfg = self.config
        session = _Session(self._wake)
        # NOTE: a fresh paho client per connection, with paho's reconnect off: paho would
        # re-send its in-memory in-flight queue at the CONNACK while the spool replay starts,
        # two queues racing. With a client per session the spool is the only queue, and the
        # order on the wire is the spool's.
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=cfg.client_id or f"specks-{cfg.device}",
                             protocol=mqtt.MQTTv311, clean_session=True,
                             reconnect_on_failure=False)
        client.on_connect = session.on_connect
        client.on_disconnect = session.on_disconnect
        client.on_publish = session.on_publish
        client.connect_timeout = cfg.connect_timeout_s
        client.max_inflight_messages_set(cfg.inflight)
        client.will_set(self.topics["availability"], "offline", qos=1, retain=True)
        if self._username is not None:
            client.username_pw_set(self._username, self._password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        try:
            client.connect(cfg.host, cfg.broker_port, keepalive=cfg.keepalive_s)
        except ssl.SSLError as e:
            self._failed(f"TLS handshake failed: {_tls_reason(e)} (is sinks.mqtt.ca_file the "
                         "CA that signed the broker's certificate, and its name the host?)",
                         refusal=True)
            return None
        except OSError as e:
            self._failed(f"cannot connect: {e}")
            return None
        client.loop_start()
        deadline = time.monotonic() + cfg.connect_timeout_s
        while not (session.connected.is_set() or session.lost.is_set()):
            if self._finished() or time.monotonic() > deadline:
                break
            session.connected.wait(0.05)
        if not session.connected.is_set() or session.lost.is_set():
            if session.refused:
                self._failed(f"refused the connection: {session.refused}", refusal=True)
            elif session.lost.is_set():
                self._failed("closed the connection before accepting it (a TLS port without "
                             "tls, or a broker that requires a client certificate?)",
                             refusal=True)
            elif not self._finished():
                self._failed(f"sent no CONNACK within {cfg.connect_timeout_s:g} s")
            client.disconnect()
            client.loop_stop()
            return None
        self._session = session
        self.connects += 1
        log.log(logging.DEBUG if self.outage.active else logging.INFO,
                "mqtt: connected to %s:%d%s (%d queued)", cfg.host, cfg.broker_port,
                " over TLS" if self._tls else "", len(self.spool))
        self.outage.reconnected(self.spool.bounds(), self.spool.dropped)
        client.publish(self.topics["availability"], "online", qos=1, retain=True)
        return client

    def _failed(self, reason: str, refusal: bool = False) -> None:
        """A connection attempt failed: the outage's business to log it or not."""
        self.outage.failed(reason, len(self.spool), self.spool.dropped, refusal)

    def _pump(self, client: Any) -> None:
        """Publish from the spool head and remove what the broker acknowledges, until the link
        is lost, or on close until the queue is empty or the flush deadline passes."""
        session = self._session
        assert session is not None
        if not self._resend(client):
            return
        inflight: dict[int, SpoolEntry] = {}  # paho mid -> what it carries
        sent_upto = 0
        while not session.lost.is_set():
            self._wake.clear()
            acked = sorted((inflight.pop(mid) for mid in _drain(session.acks) if mid in inflight),
                           key=lambda entry: entry.seq)
            if acked:
                seqs = [entry.seq for entry in acked]
                self.spool.remove(seqs)
                self._recent.extend((entry.topic, entry.payload) for entry in acked)
                self.delivered += len(acked)
                if self.outage.active:
                    self.outage.delivered(seqs, self.spool.bounds(), self.spool.dropped)
            if self._closing.is_set() and (
                    not inflight and not len(self.spool)
                    or time.monotonic() > self._flush_deadline):
                return
            room = self.config.inflight - len(inflight)
            for entry in self.spool.peek(after=sent_upto, limit=room) if room > 0 else ():
                info = client.publish(entry.topic, entry.payload, qos=self.config.qos)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    return  # the link went down under us; the entry stays spooled
                inflight[info.mid] = entry
                sent_upto = entry.seq
            self.unacked = len(inflight)
            self._wake.wait(0.5)
        self.outage.lost(len(self.spool), len(inflight), self.spool.dropped)

    def _resend(self, client: Any) -> bool:
        """Publish the last acknowledged messages again (their acknowledgements are not
        awaited: they already left the spool). False if the link went down meanwhile."""
        for topic, payload in list(self._recent):
            if client.publish(topic, payload, qos=self.config.qos).rc != mqtt.MQTT_ERR_SUCCESS:
                return False
            self.resent += 1
        if self._recent:
            log.debug("mqtt: sent the last %d acknowledged messages again", len(self._recent))
        return True

    def _disconnect(self, client: Any) -> None:
        session, self._session = self._session, None
        self.unacked = 0
        if session is not None and not session.lost.is_set():
            info = client.publish(self.topics["availability"], "offline", qos=1, retain=True)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                info.wait_for_publish(timeout=1.0)
            client.disconnect()
        client.loop_stop()


def _tls_reason(error: ssl.SSLError) -> str:
    """The useful part of an SSL error: the verification message when there is one."""
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"certificate verify failed: {error.verify_message}"
    return error.reason or str(error)


def _drain(queue: collections.deque[int]) -> list[int]:
    items = []
    while queue:
        items.append(queue.popleft())
    return items
