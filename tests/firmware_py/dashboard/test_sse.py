"""SSE framing, read back by the WHATWG "interpret an event stream" rules."""

from __future__ import annotations

import json

import pytest

from firmware_py.dashboard import sse


def parse(stream: bytes) -> list[tuple[str, str]]:
    """(event type, data) pairs as a browser's EventSource dispatches them (WHATWG HTML
    9.2.6: fields per line, comments ignored, data lines joined by LF, dispatch on a blank
    line)."""
    events, name, data = [], "", []
    for line in stream.decode().split("\n"):
        if not line:
            if data:
                events.append((name or "message", "\n".join(data)))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return events


def test_events_round_trip_through_the_standard_parser():
    payload = json.dumps({"power_w": 4.5, "labels": ["a:b"]})
    stream = (sse.retry(2000) + sse.event("stats", payload.encode()) + sse.comment("ping")
              + sse.event("info", "line one\nline two\r\nline three"))
    assert parse(stream) == [("stats", payload), ("info", "line one\nline two\nline three")]
    assert json.loads(parse(stream)[0][1]) == {"power_w": 4.5, "labels": ["a:b"]}


@pytest.mark.parametrize("name", ["", "a:b", "two\nlines"])
def test_bad_event_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="SSE event name"):
        sse.event(name, "{}")
