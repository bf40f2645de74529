"""The governor closed around the real pipeline: a stand-in INA219 (``FakeHwmon``: the kernel
driver's hwmon files) whose power follows what the pipeline actually runs -- idle plus an
energy per tile and per frame, over the tiles and frames of the last half second -- read back
through the real ``ina2xx`` sensor. Budget steps down and up; the mean power in the settled
part of each step must sit within 5 % of the budget."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
import pytest

from bench.governor_sim.hwmon import FakeHwmon
from firmware_py.board import BoardConfig
from firmware_py.governor import GovernorConfig
from firmware_py.pipeline.frame import FrameProcessor
from firmware_py.pipeline.runner import Pipeline, RunLimits
from firmware_py.power import create_sensor
from firmware_py.sources import create_source
from firmware_py.telemetry import Telemetry, TelemetryEmitter

IDLE_W, TILE_J, FRAME_J, WINDOW_S = 2.0, 0.04, 0.01, 0.5


class DutyCyclePlant:
    """Power = idle + (tiles * TILE_J + frames * FRAME_J) / WINDOW_S over the last window,
    written to the fake hwmon every 20 ms; ``trace`` keeps (t, true watts)."""

    def __init__(self, hwmon: FakeHwmon) -> None:
        self.hwmon, self.runs = hwmon, deque()
        self.trace: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def frame(self, result) -> None:
        self.runs.append((time.monotonic(), result.tiles_run))

    def watts(self, now: float) -> float:
        while self.runs and self.runs[0][0] < now - WINDOW_S:
            self.runs.popleft()
        tiles = sum(k for _, k in list(self.runs))
        return IDLE_W + (tiles * TILE_J + len(self.runs) * FRAME_J) / WINDOW_S

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            now = time.monotonic()
            watts = self.watts(now)
            self.hwmon.write(watts, 5.1)
            self.trace.append((now, watts))

    def __enter__(self) -> DutyCyclePlant:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.slow  # real time: two budget steps of 9 s
def test_the_pipeline_holds_a_stepped_power_budget(model, frames_dir, tmp_path) -> None:
    board = BoardConfig.model_validate({"sampler": {"budget": 12, "revisit_frames": 4}})
    source = create_source({"type": "folder", "path": str(frames_dir), "loop": True})
    steps = [(0.0, 5.0), (9.0, 3.5)]
    with FakeHwmon(tmp_path / "sys") as hwmon, DutyCyclePlant(hwmon) as plant:
        hwmon.write(IDLE_W, 5.1)
        sensor = create_sensor({"type": "ina2xx", "sysfs_root": str(tmp_path / "sys")},
                               fallback=False)
        emitter = TelemetryEmitter(Telemetry(), [], None, period_s=0.5, power_sensor=sensor,
                                   power_period_s=0.05)
        pipeline = Pipeline(FrameProcessor(board, model, "sparse"), source, [], "dev", emitter,
                            governor_config=GovernorConfig(budget_w=steps[0][1], max_fps=15),
                            on_frame=plant.frame)
        start = time.monotonic()
        timer = threading.Timer(steps[1][0], lambda: pipeline.governor.set_budget_w(steps[1][1]))
        timer.start()
        pipeline.run(RunLimits(duration_s=18.0))
        timer.cancel()
    t, watts = np.array(plant.trace).T
    t -= start
    for (begin, budget), end in zip(steps, [steps[1][0], 18.0], strict=True):
        settled = watts[(t >= begin + 5.0) & (t < end)]  # settling target: <= 10 s; 5 s here
        assert abs(settled.mean() - budget) / budget <= 0.05, (budget, settled.mean())
    assert pipeline.governor.min_k == 3  # the revisit minimum of 12 tiles every 4 frames
