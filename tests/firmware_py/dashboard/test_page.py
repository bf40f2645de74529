"""The page end to end in real headless Chromium (Debian's ``chromium``; ``.ci/run`` installs
it): it loads with the token, draws MJPEG frames, follows the event stream, shows the board's
info and stats, fetches nothing from elsewhere, and leaves a screenshot at
``runs/test-artifacts/dashboard.png``."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import pytest

from firmware_py.dashboard.page import CHARTS, page_html
from tests.firmware_py.dashboard.chromium import Chromium, find_chromium
from tests.firmware_py.dashboard.scene import BACKLOG, RUN, TOKEN
from tests.required import required_tool

ARTIFACT = Path(__file__).resolve().parents[3] / "runs" / "test-artifacts" / "dashboard.png"
COUNTERS = "Object.assign({}, document.body.dataset)"


def test_the_page_is_self_contained():
    html = page_html().decode()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"""(fetch|EventSource)\(\s*["'](https?:)?//""", html)
    assert all(f'id="{canvas}"' in html for canvas in CHARTS)


@pytest.fixture(scope="module")
def chromium_binary() -> str:
    return find_chromium() or required_tool("chromium", "apt-get install chromium")


def test_the_page_shows_live_frames_and_counters_in_chromium(
        chromium_binary: str, fed_dashboard, tmp_path: Path) -> None:
    dashboard, feeder = fed_dashboard
    with Chromium(chromium_binary, tmp_path / "profile") as browser:
        browser.navigate(f"{dashboard.url}?token={TOKEN}")
        assert browser.wait_for("Number(document.body.dataset.frames) >= 3", 15.0), \
            f"no MJPEG frames drawn: {browser.evaluate(COUNTERS)}"
        first = browser.evaluate(COUNTERS)
        first_frame_id = browser.evaluate("document.getElementById('frame-id').textContent")
        advanced = (f"Number(document.body.dataset.frames) > {first['frames']} && "
                    f"Number(document.body.dataset.statsEvents) > {first['statsEvents']} && "
                    f"Number(document.body.dataset.detectionEvents) > "
                    f"{first['detectionEvents']}")
        assert browser.wait_for(advanced, 10.0), browser.evaluate(COUNTERS)
        assert browser.evaluate("document.getElementById('frame-id').textContent") \
            != first_frame_id
        assert browser.evaluate("document.getElementById('status').textContent") == "live"
        assert browser.evaluate("document.getElementById('info-board').textContent") \
            == "x86-generic"
        assert browser.evaluate("document.getElementById('info-run_id').textContent") \
            == RUN.run_id
        mqtt = browser.evaluate("document.getElementById('info-mqtt').textContent")
        assert re.fullmatch(r"disconnected \(\d+ spooled\)", mqtt), mqtt  # the live stats
        assert browser.evaluate("statsHistory.length") > BACKLOG  # charts start with history
        stats_text = browser.evaluate("document.getElementById('stats').textContent")
        assert "power_w" in stats_text and "sinks.mqtt.dropped" in stats_text
        video = browser.evaluate("[document.getElementById('video').width, "
                                 "document.getElementById('video').height]")
        assert video == [640, 360]
        origin = dashboard.url.rstrip("/")
        fetched = browser.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert fetched and all(url.startswith(origin) for url in fetched), fetched
        browser.screenshot(ARTIFACT)
        assert browser.exceptions == []
    screenshot = cv2.imread(str(ARTIFACT))
    assert screenshot is not None and screenshot.shape == (800, 1280, 3)
    assert feeder.published > 0
