"""The governor in closed loop with the plant simulator (:mod:`.plant`), on a virtual clock,
and the step-response figures of that loop. Used by the closed-loop tests and by
``bench/governor.py``; nothing sleeps, the clock advances by each simulated frame.

One frame of the loop does what the pipeline does, in its order: the telemetry emitter ticks
(reading the power sensor when due), the governor turns the latest reading and the tiles of
the frame that just ended into a setpoint, the plant runs a frame of ``k`` tiles for the
asked interval, and the counters are updated.

Figures (choices of ours; control texts define them for continuous signals): power is the
board's true power averaged over a trailing ``average_s`` window (what an energy meter
shows); after a budget step, *settling* is the time until that average enters and stays in
``budget * (1 +- band)`` up to the next step; the *steady-state mean* is the true mean power
over the last ``steady_frac`` of the segment; *overshoot* is the largest excursion of the
average past the budget, in the direction of the step, after it first crossed the budget,
relative to the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.governor_sim.hwmon import FakeHwmon
from bench.governor_sim.plant import Plant, PlantConfig
from firmware_py.governor.governor import Governor, GovernorConfig
from firmware_py.telemetry import Telemetry, TelemetryEmitter, stage_name

Schedule = Sequence[tuple[float, float]]  # (time s, budget W), sorted, the first at 0


@dataclass(frozen=True)
class Trace:
    """Per-frame arrays of a closed-loop run (all the same length)."""

    t: np.ndarray  # frame start, s
    period: np.ndarray  # frame length, s
    power: np.ndarray  # true mean power over the frame, W
    reading: np.ndarray  # sensor reading at the frame's end, W
    smoothed: np.ndarray  # the governor's smoothed power when it set this frame, W (nan: none)
    k: np.ndarray  # tiles run
    interval: np.ndarray  # frame interval asked, s
    budget: np.ndarray  # budget in force, W
    saturated: np.ndarray  # governor reported saturation

    @property
    def end(self) -> np.ndarray:
        return self.t + self.period

    def trailing_mean(self, at: np.ndarray, window_s: float) -> np.ndarray:
        """True mean power over ``[at - window_s, at]`` (clipped at 0), at each time in ``at``."""
        times = np.concatenate([[self.t[0]], self.end])
        energy = np.concatenate([[0.0], np.cumsum(self.power * self.period)])
        start = np.maximum(at - window_s, times[0])
        span = np.maximum(at - start, 1e-12)
        return (np.interp(at, times, energy) - np.interp(start, times, energy)) / span


class VirtualClock:
    """The simulation's clock, for the sensor's and the telemetry's ``clock`` argument."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def closed_loop(governor: Governor, plant: Plant, emitter: TelemetryEmitter,
                schedule: Schedule, duration_s: float, tracking: bool = True,
                clock: VirtualClock | None = None) -> Trace:
    """Run the loop for ``duration_s`` virtual seconds under the budget ``schedule``;
    ``tracking=False`` withholds the tiles run from the governor (no tracking anti-windup);
    ``clock``, if given, is advanced with the loop."""
    telemetry = emitter.telemetry
    steps = sorted(schedule)
    rows: list[tuple[float, ...]] = []
    now, tiles_run, step = 0.0, None, 0
    clock = clock or VirtualClock()
    while now < duration_s:
        clock.now = now
        while step < len(steps) and steps[step][0] <= now:
            governor.set_budget_w(steps[step][1])
            step += 1
        emitter.tick(now)
        setpoint = governor.update(now, emitter.power_w, tiles_run)
        frame = plant.run_frame(setpoint.budget, setpoint.frame_interval_s)
        for name, value in governor.stats().items():
            telemetry.gauge(name, value)
        telemetry.count("camera", now=now)
        telemetry.count("inference", now=now)
        telemetry.count("tiles", setpoint.budget, now=now)
        telemetry.observe(stage_name("infer"), 1e3 * (frame.busy_s - plant.config.frame_s),
                          now=now)
        smoothed = governor.power.value
        rows.append((now, frame.period_s, frame.power_w, frame.reading_w,
                     np.nan if smoothed is None else smoothed, setpoint.budget,
                     setpoint.frame_interval_s, governor.budget_w, governor.saturated))
        tiles_run = setpoint.budget if tracking else None
        now += frame.period_s
    clock.now = now
    emitter.tick(now)
    cols = np.array(rows, dtype=np.float64).T
    return Trace(*cols[:5], cols[5].astype(np.int64), cols[6], cols[7], cols[8].astype(bool))


@dataclass(frozen=True)
class StepFigures:
    """How the loop followed one budget step."""

    t_s: float  # when the budget changed
    budget_w: float
    settling_s: float | None  # None: never settled before the next step
    mean_w: float  # true mean power over the segment's steady part
    mean_error: float  # (mean_w - budget) / budget
    overshoot: float  # relative to the budget, >= 0
    floor_w: float  # the plant's power at min_k and min_fps (the least the governor can ask)
    ceiling_w: float  # the plant's power at max_k and max_fps (the most it can ask)
    min_k: int  # fewest tiles run in a frame
    min_fps: float  # lowest frame rate reached
    saturated_frac: float  # fraction of the time the governor reported saturation

    @property
    def feasible(self) -> bool:
        """The budget lies between what the governor's slowest and fastest settings draw."""
        return self.floor_w <= self.budget_w <= self.ceiling_w


def step_figures(trace: Trace, schedule: Schedule, governor: Governor, plant: Plant,
                 band: float = 0.05, average_s: float = 1.0,
                 steady_frac: float = 0.5) -> list[StepFigures]:
    """The figures of each segment of ``schedule`` (see the module notes)."""
    steps = sorted(schedule)
    bounds = [t for t, _ in steps[1:]] + [float(trace.end[-1])]
    cfg = governor.config
    floor_w = plant.steady_power(governor.min_k, 1.0 / cfg.min_fps)
    ceiling_w = plant.steady_power(governor.max_k, 1.0 / cfg.max_fps)
    out = []
    for (t0, budget), t1 in zip(steps, bounds, strict=True):
        frames = (trace.t >= t0) & (trace.t < t1)
        ends = trace.end[frames]
        ends = ends[ends <= t1]
        avg = trace.trailing_mean(ends, average_s)
        outside = np.flatnonzero(np.abs(avg - budget) > band * budget)
        if outside.size == 0:
            settling: float | None = 0.0
        elif outside[-1] == avg.size - 1:
            settling = None
        else:
            settling = float(ends[outside[-1] + 1] - t0)
        s0 = t1 - steady_frac * (t1 - t0)
        mean = float(trace.trailing_mean(np.array([t1]), t1 - s0)[0])
        fps = 1.0 / trace.period[frames]
        out.append(StepFigures(t0, budget, settling, mean, (mean - budget) / budget,
                               _overshoot(avg, budget), floor_w, ceiling_w,
                               int(trace.k[frames].min()), float(fps.min()),
                               float(np.average(trace.saturated[frames],
                                                weights=trace.period[frames]))))
    return out


def _overshoot(avg: np.ndarray, budget: float) -> float:
    """Largest excursion past ``budget`` in the direction of approach, after first crossing."""
    if avg.size == 0:
        return 0.0
    above = avg >= budget
    crossed = np.flatnonzero(above != above[0])
    if crossed.size == 0:
        return 0.0
    after = avg[crossed[0]:]
    excess = (after - budget) if not above[0] else (budget - after)
    return float(max(excess.max(), 0.0) / budget)


@dataclass(frozen=True)
class Run:
    """A closed-loop run and its figures."""

    trace: Trace
    figures: list[StepFigures]
    governor: Governor
    plant: Plant


def simulate(schedule: Schedule, duration_s: float, workdir: str | Path, *,
             governor: GovernorConfig | None = None, plant: PlantConfig | None = None,
             num_tiles: int = 28, revisit_frames: int = 15, max_k: int = 8,
             log_path: str | Path | None = None, tracking: bool = True) -> Run:
    """The whole rig: a fake sysfs tree under ``workdir`` with the plant's hwmon device, the
    real ``ina2xx`` sensor and telemetry emitter on it (logging to ``log_path`` if given), a
    governor for ``num_tiles`` tiles with the sampler's revisit minimum, run in closed loop."""
    from firmware_py.power import create_sensor
    from firmware_py.sparse import min_budget

    sysfs = Path(workdir, "sys")
    clock = VirtualClock()
    with FakeHwmon(sysfs) as hwmon:
        board = Plant(plant, hwmon)
        sensor = create_sensor({"type": "ina2xx", "sysfs_root": str(sysfs)}, fallback=False,
                               clock=clock)
        emitter = TelemetryEmitter(Telemetry(clock=clock), [], log_path, 1.0, sensor,
                                   sysfs_root=str(sysfs))
        gov = Governor(governor or GovernorConfig(budget_w=schedule[0][1]), num_tiles,
                       min_budget(num_tiles, revisit_frames), max_k)
        try:
            trace = closed_loop(gov, board, emitter, schedule, duration_s, tracking, clock)
        finally:
            emitter.close()
    return Run(trace, step_figures(trace, schedule, gov, board), gov, board)
