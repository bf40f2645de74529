"""The governor closed around the real pipeline, on a virtual clock.

The real pipeline runs (capture thread, tile prior, sampler, detector, governor, telemetry, the
real ``ina2xx`` sensor on a stand-in INA219 hwmon tree), but the time the loop, the governor and
the telemetry see is a :class:`VirtualClock`: a modelled board (:class:`Board`) advances it by
each frame's compute time (``FRAME_S + k * TILE_S``) and books its energy above idle (``FRAME_J
+ k * TILE_J``); the loop's wait for the next frame advances it by the rest of the governor's
interval. The board's mean power since the previous frame ended (idle plus that frame's energy
over its period, as the plant simulator of ``bench/governor_sim`` models it) is written to the
hwmon files as each frame ends. So the power follows what the pipeline really runs (its sampled
tiles, frame by frame), and what is checked does not depend on how busy the machine running the
test is (a real-time version failed under load: a busy machine cannot run the tiles that draw
the budget). Budget steps down and up; the true mean power of the settled part of each step must
sit within 5 % of the budget."""

from __future__ import annotations

import threading

import numpy as np

from bench.governor_sim.hwmon import FakeHwmon
from firmware_py.board import BoardConfig
from firmware_py.governor import GovernorConfig
from firmware_py.pipeline.frame import FrameProcessor, FrameResult
from firmware_py.pipeline.runner import Pipeline, RunLimits
from firmware_py.power import create_sensor
from firmware_py.sources import create_source
from firmware_py.sources.capture import CaptureConfig
from firmware_py.telemetry import Telemetry, TelemetryEmitter

IDLE_W, TILE_J, FRAME_J = 2.0, 0.04, 0.01
TILE_S, FRAME_S, BUS_V = 0.004, 0.005, 5.1
STEPS = [(0.0, 5.0), (9.0, 3.5)]  # (virtual s, budget W)
DURATION_S = 18.0


class VirtualClock:
    """The loop's clock (:class:`firmware_py.pipeline.clock.LoopClock`), advanced by the
    modelled board and by the loop's waits, never by the machine."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.t += max(0.0, seconds)
        return stop.is_set()


class Board:
    """The modelled board: each frame's compute time and energy; its mean power over the frame's
    period goes to the hwmon files. ``frames`` keeps (end time, joules above idle, tiles)."""

    def __init__(self, clock: VirtualClock, hwmon: FakeHwmon) -> None:
        self.clock, self.hwmon = clock, hwmon
        self.frames: list[tuple[float, float, int]] = []
        self.pipeline: Pipeline | None = None
        self._step = 1

    def frame(self, result: FrameResult) -> None:
        """``Pipeline.on_frame``: the frame of ``result.tiles_run`` tiles computes now."""
        k, start = result.tiles_run, self.frames[-1][0] if self.frames else 0.0
        self.clock.t += FRAME_S + k * TILE_S
        self.frames.append((self.clock.t, FRAME_J + k * TILE_J, k))
        self.hwmon.write(IDLE_W + self.frames[-1][1] / (self.clock.t - start), BUS_V)
        if self._step < len(STEPS) and self.clock.t >= STEPS[self._step][0]:
            assert self.pipeline is not None and self.pipeline.governor is not None
            self.pipeline.governor.set_budget_w(STEPS[self._step][1])
            self._step += 1

    def mean_power(self, begin: float, end: float) -> float:
        """The board's true mean power over ``[begin, end)``."""
        joules = sum(j for t, j, _ in self.frames if begin <= t < end)
        return IDLE_W + joules / (end - begin)


def test_the_pipeline_holds_a_stepped_power_budget(model, frames_dir, tmp_path) -> None:
    board = BoardConfig.model_validate({"sampler": {"budget": 12, "revisit_frames": 4}})
    source = create_source({"type": "folder", "path": str(frames_dir), "loop": True})
    clock = VirtualClock()
    with FakeHwmon(tmp_path / "sys") as hwmon:
        plant = Board(clock, hwmon)
        hwmon.write(IDLE_W, BUS_V)
        sensor = create_sensor({"type": "ina2xx", "sysfs_root": str(tmp_path / "sys")},
                               fallback=False, clock=clock.now)
        emitter = TelemetryEmitter(Telemetry(clock=clock.now), [], None, period_s=0.5,
                                   power_sensor=sensor, power_period_s=0.05)
        pipeline = Pipeline(FrameProcessor(board, model, "sparse"), source, [], "dev", emitter,
                            capture_config=CaptureConfig(drop=False),
                            governor_config=GovernorConfig(budget_w=STEPS[0][1], max_fps=15),
                            on_frame=plant.frame, clock=clock)
        plant.pipeline = pipeline
        pipeline.run(RunLimits(duration_s=DURATION_S))
    ends = [t for t, _, _ in plant.frames]
    assert ends[-1] >= DURATION_S  # the run went by the virtual clock
    for (begin, budget), end in zip(STEPS, [STEPS[1][0], DURATION_S], strict=True):
        settled = plant.mean_power(begin + 5.0, end)  # settling target: <= 10 s; 5 s here
        assert abs(settled - budget) / budget <= 0.05, (budget, settled)
    tiles = np.array([k for _, _, k in plant.frames])
    assert tiles.min() >= pipeline.governor.min_k == 3  # the revisit minimum: 12 tiles / 4
    assert not pipeline.governor.saturated
