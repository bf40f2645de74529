"""The dashboard's HTTP server: ``http.server.ThreadingHTTPServer`` from the standard library,
one thread per connection (a few clients on a board; no new dependency).

Routes: ``/`` the page, ``/stream.mjpg`` the live view (:mod:`~firmware_py.dashboard.mjpeg`),
``/events`` detections, stats and info as Server-Sent Events (:mod:`~firmware_py.dashboard.sse`),
``/api/state`` a JSON snapshot, ``/healthz`` liveness. Every route but ``/healthz`` needs the
bearer token when one is configured (:mod:`~firmware_py.dashboard.config`); tokens are compared
in constant time (``hmac.compare_digest``) and a refusal is ``401`` with ``WWW-Authenticate:
Bearer`` (RFC 6750 section 3). Responses are HTTP/1.0 (the module's default): a stream ends when
the connection closes, which is how MJPEG cameras serve it.

Choices: a client that stops reading is dropped after ``SEND_TIMEOUT_S`` of blocked writes
(its thread only; the pipeline never writes to a socket); ``server_bind`` skips
``HTTPServer``'s ``socket.getfqdn`` lookup, which stalls on a board without DNS; the page is
served with a Content-Security-Policy that allows only this origin, so nothing is fetched from
elsewhere.
"""

from __future__ import annotations

import hmac
import logging
import socket
import socketserver
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from firmware_py.dashboard import mjpeg, sse
from firmware_py.dashboard.broadcast import Broadcast, Closed, Full
from firmware_py.sinks.message import dumps

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10.0
KEEPALIVE_S = 15.0
RETRY_MS = 2000
PAGE_CSP = ("default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


class App(Protocol):
    """What the handler needs from the dashboard."""

    token: str | None
    page: bytes
    events: Broadcast[bytes]
    parts: Broadcast[bytes]

    def state(self) -> dict[str, Any]: ...

    def snapshot_events(self) -> bytes: ...

    def stream_opened(self) -> None: ...


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a client stuck in a write

    def __init__(self, host: str, port: int, app: App) -> None:
        self.app = app
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host.strip("[]"), port), Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    timeout = SEND_TIMEOUT_S
    server_version = "specks-dashboard"
    sys_version = ""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8")
            return
        if not self._authorized(url.query):
            self._send(HTTPStatus.UNAUTHORIZED, b"token required\n", "text/plain; charset=utf-8",
                       {"WWW-Authenticate": 'Bearer realm="specks"'})
            return
        if url.path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.server.app.page, "text/html; charset=utf-8",
                       {"Content-Security-Policy": PAGE_CSP})
        elif url.path == "/api/state":
            self._send(HTTPStatus.OK, dumps(self.server.app.state()), "application/json")
        elif url.path == "/events":
            self._stream(self.server.app.events, sse.MEDIA_TYPE, keepalive=True)
        elif url.path == "/stream.mjpg":
            self._stream(self.server.app.parts, mjpeg.MEDIA_TYPE, keepalive=False)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def _authorized(self, query: str) -> bool:
        token = self.server.app.token
        if token is None:
            return True
        offered = parse_qs(query).get("token", [])
        scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            offered.append(credentials.strip())
        return any(hmac.compare_digest(o.encode(), token.encode()) for o in offered)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._common_headers(headers)
        self.wfile.write(body)

    def _common_headers(self, headers: dict[str, str] | None) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _stream(self, broadcast: Broadcast[bytes], content_type: str, keepalive: bool) -> None:
        try:
            subscriber = broadcast.subscribe()
        except (Full, Closed) as e:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, f"{e or 'closed'}\n".encode(),
                       "text/plain; charset=utf-8", {"Retry-After": "5"})
            return
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self._common_headers({"X-Accel-Buffering": "no"})
            if keepalive:
                self.wfile.write(sse.retry(RETRY_MS) + self.server.app.snapshot_events())
            else:
                self.server.app.stream_opened()
            while True:
                item = subscriber.get(KEEPALIVE_S)
                if item is not None:
                    self.wfile.write(item)
                elif keepalive:
                    self.wfile.write(sse.comment("keep-alive"))
        except (Closed, OSError):
            pass  # the dashboard stopped, or the client left or stalled
        finally:
            broadcast.unsubscribe(subscriber)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)
