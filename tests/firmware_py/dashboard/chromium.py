"""Drive real headless Chromium over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read protocol commands from file descriptor 3 and
write responses and events to file descriptor 4, each message one JSON object ended by a NUL
byte (Chrome DevTools Protocol, "Transport": https://chromedevtools.github.io/devtools-protocol/
and Puppeteer's ``PipeTransport``). No websocket client is needed, so the tests use only the
standard library. Commands go to a page through a flattened session (``Target.attachToTarget``
with ``flatten: true``), as Puppeteer does.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_chromium() -> str | None:
    for candidate in (*CANDIDATES, shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _pipe_to_3_and_4(commands: int, messages: int) -> None:
    """In the child: Chromium reads commands from fd 3 and writes messages to fd 4. Both are
    first copied above 9 so that neither ``dup2`` overwrites the other's source."""
    high_in = fcntl.fcntl(commands, fcntl.F_DUPFD, 10)
    high_out = fcntl.fcntl(messages, fcntl.F_DUPFD, 10)
    os.dup2(high_in, 3)
    os.dup2(high_out, 4)


class ProtocolError(RuntimeError):
    """Chromium answered a command with an error, or did not answer in time."""


class Chromium:
    """One headless Chromium with one page, closed by :meth:`close` (or ``with``)."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 800) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        os.set_inheritable(to_chrome_r, True)
        os.set_inheritable(from_chrome_w, True)
        args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--remote-debugging-pipe", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "about:blank"]
        self._proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, pass_fds=(3, 4),
            preexec_fn=lambda: _pipe_to_3_and_4(to_chrome_r, from_chrome_w))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.exceptions: list[str] = []  # uncaught errors thrown by the page's scripts
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = self._attach_page()
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            self.session)
        self.send("Runtime.enable", session=self.session)

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._from_chrome, 65536):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._cond:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._replies[message["id"]] = message
                    elif message.get("method") == "Runtime.exceptionThrown":
                        details = message["params"]["exceptionDetails"]
                        self.exceptions.append(details.get("exception", {}).get(
                            "description", details.get("text", "?")))
                self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 15.0) -> dict[str, Any]:
        """Send one command and wait for its result."""
        with self._cond:
            self._next_id += 1
            call_id = self._next_id
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        with self._cond:
            if not self._cond.wait_for(lambda: call_id in self._replies, timeout):
                raise ProtocolError(f"{method}: no answer within {timeout} s")
            reply = self._replies.pop(call_id)
        if "error" in reply:
            raise ProtocolError(f"{method}: {reply['error']}")
        return reply["result"]

    def _attach_page(self) -> str:
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            pages = [t for t in self.send("Target.getTargets")["targetInfos"]
                     if t["type"] == "page"]
            if pages:
                return self.send("Target.attachToTarget",
                                 {"targetId": pages[0]["targetId"], "flatten": True})["sessionId"]
            time.sleep(0.1)
        raise ProtocolError("Chromium opened no page")

    def navigate(self, url: str, timeout: float = 15.0) -> None:
        """Open ``url`` and wait until its document has loaded."""
        result = self.send("Page.navigate", {"url": url}, self.session)
        if "errorText" in result:
            raise ProtocolError(f"{url}: {result['errorText']}")
        loaded = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        if not self.wait_for(loaded, timeout):
            raise ProtocolError(f"{url} did not load within {timeout} s")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           self.session)
        if "exceptionDetails" in result:
            raise ProtocolError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float) -> Any:
        """Poll ``expression`` until it is truthy; its last value (falsy on timeout)."""
        deadline = time.monotonic() + timeout
        value = self.evaluate(expression)
        while not value and time.monotonic() < deadline:
            time.sleep(0.1)
            value = self.evaluate(expression)
        return value

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"}, self.session)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5.0)
            except (ProtocolError, OSError):
                self._proc.kill()
        try:
            self._proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_chrome)
        self._reader.join(timeout=5.0)
        os.close(self._from_chrome)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
