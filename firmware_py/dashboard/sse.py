"""Server-Sent Events framing (WHATWG HTML Living Standard, section 9.2 "Server-sent events",
"Parsing an event stream").

An event is ``event: <name>`` then one ``data:`` line per line of the payload, ended by a
blank line; a line starting with ``:`` is a comment, which this server sends as a keep-alive
so that idle connections are not dropped by proxies and a vanished client is noticed on the
next write. ``retry:`` sets the client's reconnection delay. The stream is UTF-8 with ``\\n``
line ends. Choices the standard leaves open: no ``id:`` field (a reconnecting client wants the
current state, which it gets from ``/api/state``, not a replay).
"""

from __future__ import annotations

import re

MEDIA_TYPE = "text/event-stream; charset=utf-8"
_NAME = re.compile(r"^[^\r\n:]+$")


def event(name: str, data: bytes | str) -> bytes:
    """One event named ``name`` carrying ``data`` (JSON, or any text)."""
    if not _NAME.match(name):
        raise ValueError(f"SSE event name {name!r} must be non-empty, without ':' or newlines")
    text = data.decode() if isinstance(data, bytes) else data
    lines = "".join(f"data: {line}\n" for line in re.split(r"\r\n|\r|\n", text))
    return f"event: {name}\n{lines}\n".encode()


def comment(text: str = "") -> bytes:
    """A comment line (ignored by clients): the keep-alive."""
    return f": {text}\n\n".encode()


def retry(milliseconds: int) -> bytes:
    """Tell the client how long to wait before reconnecting."""
    return f"retry: {int(milliseconds)}\n\n".encode()
