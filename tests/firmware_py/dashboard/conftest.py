"""A running dashboard fed by the pipeline stand-in of :mod:`scene`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware_py.dashboard import Dashboard, DashboardConfig
from tests.firmware_py.dashboard.scene import BACKLOG, TOKEN, Feeder, stats


@pytest.fixture
def fed_dashboard() -> Iterator[tuple[Dashboard, Feeder]]:
    """A started dashboard on a free loopback port, with a token and a backlog of stats, fed
    at 25 fps."""
    dashboard = Dashboard(DashboardConfig(port=0, token=TOKEN, max_fps=15.0))
    dashboard.start()
    dashboard.set_info(board="x86-generic", bundle="tiny-centernet@1.0", model="TinyCenterNet",
                       mode="sparse-k2")
    for n in range(-BACKLOG, 0):  # minutes of history before the page opens
        dashboard.publish_stats(stats(n))
    feeder = Feeder(dashboard).start()
    try:
        yield dashboard, feeder
    finally:
        feeder.stop()
        dashboard.stop()
