"""Soak: ``specks run`` for N frames on a looping clip, MQTT to a real mosquitto that is killed
and restarted at random (issue 17: 0 lost, 0 duplicated, RSS growth < 1 MB per 10k frames
after warm-up, peak RSS <= 150 MB with LiteRT on the x86-generic profile).

The pipeline runs in its own process as a board runs it (x86-generic, the shipped
specknet-nano bundle, LiteRT int8, sparse mode; a 1920x1080 clip, ``bench/clips.py``'s ``few``
scene, read without pacing so every frame is processed), publishing to mosquitto through its
on-disk spool. The bench samples the process's RSS (``/proc/PID/status``) and its health file
(frames, fps) every ``--sample-s``. Broker outages follow a seeded schedule: up for an
exponential time (mean ``--up-s``), then SIGKILL, down for a uniform time in ``--down-s``,
then restarted. A restarted broker (no persistence) has forgotten the subscriber, so it comes
back refusing the sink until a fresh subscriber has subscribed, then admits it (the pattern of
``tests/firmware_py/sinks/broker.py``, whose broker and subscriber this uses). No outage
starts in the last ``--quiet-tail`` of the frames, so the run's final flush finds a broker.

Messages are told apart by :func:`message_key`: ``(run_id, seq)``, the run's id and its one
sequence over detections and stats (:mod:`firmware_py.sinks.stamp`). Lost = detection messages
not received (one per processed frame), and sequence numbers of either kind missing below the
highest received. The sink delivers at least once (QoS 1, plus the acknowledged window it sends
again after each reconnect), so the same message reaches the subscriber more than once
(``wire_repeats``: receptions beyond the first, each listed with the broker lives that
delivered it); what a user's consumer gets is what ``specks listen``'s
:class:`~firmware_py.sinks.dedupe.Deduplicator` passes, fed every reception in arrival order,
and duplicated = detection messages it passes beyond one per ``(run_id, frame_id)`` (a frame
sent twice under two keys, which no consumer could drop). The peak is ``ru_maxrss``
(``wait4``); growth is the least-squares slope of RSS over frames after ``--warmup`` frames,
per 10k frames. Writes ``soak.png`` (RSS and fps over frames, outages shaded) and
``soak.json`` in ``--out``.

    nice -n 5 .venv/bin/python bench/soak.py [--frames 100000] [--seed 0] [--up-s 45]
        [--down-s 2,15] [--warmup 3000] [--out runs/bench/soak]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.clips import ensure_scene  # noqa: E402
from bench.memory import cpu_name  # noqa: E402
from bench.procmem import reap, status_kb  # noqa: E402
from firmware_py.device.health import read_health  # noqa: E402
from firmware_py.sinks.dedupe import Deduplicator  # noqa: E402
from tests.firmware_py.sinks.broker import Broker, Collector, find_mosquitto  # noqa: E402


def message_key(payload: dict[str, Any]) -> Hashable:
    """What identifies one message (detections or stats) of a run."""
    return payload["run_id"], payload["seq"]


@dataclass
class Outages:
    """The seeded broker schedule: ``next_change`` is when the broker goes down (or up)."""

    rng: random.Random
    up_s: float
    down_s: tuple[float, float]
    next_change: float = 0.0
    down: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)  # frames while down

    def plan(self, now: float) -> None:
        self.next_change = now + (self.rng.uniform(*self.down_s) if self.down
                                  else self.rng.expovariate(1.0 / self.up_s))


@dataclass
class Sample:
    t: float
    frames: int
    rss_mb: float
    fps: float


class Soak:
    """One soak run: the broker, its subscribers, the pipeline process and the samples."""

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args, self.folder = args, folder
        self.broker = Broker(find_mosquitto(), folder)
        self.broker.start()
        self.subscribers = [Collector(self.broker.sub_port)]
        self.outages = Outages(random.Random(args.seed), args.up_s, args.down_s)
        self.samples: list[Sample] = []
        self.subscriber_drops: list[dict[str, Any]] = []
        self.health = folder / "health.json"

    def command(self) -> list[str]:
        a = self.args
        return [sys.executable, "-m", "firmware_py.cli", "run", "--board", "x86-generic",
                "--source", str(a.clip), "--loop", "--no-realtime", "--frames", str(a.frames),
                "--mqtt", f"mqtt://127.0.0.1:{self.broker.port}",
                "--spool-dir", str(self.folder / "spool"), "--health-file", str(self.health),
                "--set", "sinks.mqtt.flush_timeout_s=60", "--quiet"]

    def run(self) -> tuple[int, int]:
        """``(exit status, peak RSS kB)`` of the pipeline."""
        with (self.folder / "run.log").open("wb") as log:
            proc = subprocess.Popen(self.command(), cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=log)
        start = time.monotonic()
        self.outages.plan(0.0)
        with tqdm(total=self.args.frames, unit="frame", smoothing=0.05) as bar:
            while (done := reap(proc.pid, block=False)) is None:
                now = time.monotonic() - start
                self._sample(proc.pid, now, bar)
                self._outage(now)
                time.sleep(self.args.sample_s)
        if self.outages.down:
            self._restart()
        last = read_health(self.health)  # the record written as the run ended
        if last is not None and self.samples:
            self.samples.append(Sample(time.monotonic() - start, last.frames,
                                       self.samples[-1].rss_mb, last.fps))
        if done[0] != 0:
            print((self.folder / "run.log").read_text()[-3000:], file=sys.stderr)
        return done

    def _sample(self, pid: int, now: float, bar: tqdm) -> None:
        rss = status_kb(pid, "VmRSS")
        record = read_health(self.health)
        if rss is None or record is None:
            return
        self.samples.append(Sample(now, record.frames, rss / 1024, record.fps))
        bar.update(record.frames - bar.n)
        bar.set_postfix(rss=f"{rss / 1024:.0f}MB", fps=f"{record.fps:.0f}",
                        outages=len(self.outages.spans))

    def _frames(self) -> int:
        return self.samples[-1].frames if self.samples else 0

    def _outage(self, now: float) -> None:
        out = self.outages
        if now < out.next_change:
            return
        if out.down:
            self._restart()
        elif self._frames() < self.args.frames * (1 - self.args.quiet_tail):
            self.check_subscriber()
            self.broker.kill()
            out.down = True
            out.spans.append((self._frames(), self._frames()))
        out.plan(now)

    def check_subscriber(self) -> None:
        """Record a subscriber the live broker dropped before its kill (a loss the bench
        made, not the sink: nothing reads that life's later messages)."""
        sub = self.subscribers[-1]
        if sub.dropped:
            self.subscriber_drops.append({"life": len(self.subscribers) - 1,
                                          "frame": self._frames(), "reason": sub.dropped[0]})

    def _restart(self) -> None:
        self.broker.start(admit_sink=False)
        self.subscribers.append(Collector(self.broker.sub_port))
        self.broker.admit_sink()
        self.outages.down = False
        first, _ = self.outages.spans[-1]
        self.outages.spans[-1] = (first, self._frames())

    def received(self, settle_s: float = 3.0) -> dict[str, Counter]:
        """Receptions per message key and topic (``detections``, ``stats``), once nothing new
        arrived for ``settle_s``."""
        count, last = -1, 0
        while count != last:
            count = last
            time.sleep(settle_s)
            last = sum(len(s.messages) for s in self.subscribers)
        keys: dict[str, Counter] = {"detections": Counter(), "stats": Counter()}
        for sub in self.subscribers:
            for topic, counter in keys.items():
                counter.update(message_key(json.loads(m.payload)) for m in sub.on(f"/{topic}"))
        return keys

    def duplicated(self) -> int:
        """Detection messages a deduplicating consumer passes beyond one per frame."""
        dedupe, frames = Deduplicator(), Counter()
        for sub in self.subscribers:
            for m in sub.on("/detections"):
                payload = json.loads(m.payload)
                if dedupe.first(payload):
                    frames[payload["run_id"], payload["frame_id"]] += 1
        return sum(frames.values()) - len(frames)

    def gaps(self) -> list[dict[str, Any]]:
        """Each run of missing sequence numbers (below the highest received), with the broker
        lives that delivered the message before and after it. A gap between two lives lies
        at a kill (what the killed broker had acknowledged to the sink but not yet delivered
        is gone: MQTT acknowledges hop by hop and this broker keeps nothing on disk); a gap
        inside one life is not explained by a kill."""
        life_of = {key: seen[0] for key, seen in self.lives().items()}
        out = []
        for run in {run for run, _ in life_of}:
            seqs = sorted(seq for r, seq in life_of if r == run)
            for before, after in zip(seqs, seqs[1:], strict=False):
                if after > before + 1:
                    out.append({"seqs": [before + 1, after - 1],
                                "lives": [life_of[run, before], life_of[run, after]]})
        return out

    def duplicates(self) -> list[dict[str, Any]]:
        """Each message received more than once: its key and the broker lives (0 = the first
        broker, n = after the n-th restart) that delivered it. A message delivered before a
        kill and again after the restart is one the broker forwarded but whose PUBACK the
        sink never got (MQTT's at-least-once redelivery, MQTT 3.1.1 Sec. 4.3.2), or one of the
        acknowledged window the sink sends again after a reconnect."""
        return [{"key": list(key), "lives": seen} for key, seen in self.lives().items()
                if len(seen) > 1]

    def lives(self) -> dict[Hashable, list[int]]:
        """Each message key and the broker lives that delivered it, in order."""
        lives: dict[Hashable, list[int]] = {}
        for life, sub in enumerate(self.subscribers):
            for m in sub.on("/detections") + sub.on("/stats"):
                lives.setdefault(message_key(json.loads(m.payload)), []).append(life)
        return lives

    def close(self) -> None:
        for sub in self.subscribers:
            sub.close()
        self.broker.kill()


def growth_per_10k(samples: list[Sample], warmup: int) -> float | None:
    """Least-squares slope of RSS (MB) over frames after ``warmup``, per 10k frames."""
    after = [s for s in samples if s.frames >= warmup]
    if len(after) < 3 or after[-1].frames == after[0].frames:
        return None
    slope = np.polyfit([s.frames for s in after], [s.rss_mb for s in after], 1)[0]
    return float(slope * 10_000)


def fps_windows(samples: list[Sample], parts: int = 10) -> list[tuple[int, float]]:
    """``(last frame, fps)`` over ``parts`` equal spans of frames."""
    if len(samples) < 2:
        return []
    edges = np.linspace(samples[0].frames, samples[-1].frames, parts + 1)
    frames = np.array([s.frames for s in samples])
    times = np.array([s.t for s in samples])
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        t_lo, t_hi = np.interp([lo, hi], frames, times)
        out.append((int(hi), float((hi - lo) / (t_hi - t_lo)) if t_hi > t_lo else 0.0))
    return out


def plot(samples: list[Sample], spans: list[tuple[int, int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rss, fps) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    frames = [s.frames for s in samples]
    rss.plot(frames, [s.rss_mb for s in samples], lw=1)
    rss.axhline(150, color="r", ls="--", lw=0.8, label="goal 150 MB")
    rss.set_ylabel("RSS (MB)")
    rss.legend(loc="lower right")
    fps.plot(frames, [s.fps for s in samples], lw=0.8)
    fps.set_ylabel("fps (stats period)")
    fps.set_xlabel("frames")
    for axis in (rss, fps):
        for lo, hi in spans:
            axis.axvspan(lo, max(hi, lo + 1), color="0.85")
    rss.set_title("specks run soak: RSS and fps; grey = broker down")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def missing_seqs(keys: set[Hashable]) -> int:
    """Sequence numbers of each run missing below its highest received."""
    highest: dict[Any, int] = {}
    for run, seq in keys:
        highest[run] = max(highest.get(run, -1), seq)
    return sum(top + 1 for top in highest.values()) - len(keys)


def summarize(soak: Soak, status: int, peak_kb: int, received: dict[str, Counter]
              ) -> dict[str, Any]:
    args, samples = soak.args, soak.samples
    processed = samples[-1].frames if samples else 0
    detections, stats = received["detections"], received["stats"]
    every = set(detections) | set(stats)
    return {"cpu": cpu_name(), "frames_asked": args.frames, "frames_processed": processed,
            "exit_status": status, "seed": args.seed, "outages": len(soak.outages.spans),
            "outage_frames": soak.outages.spans, "peak_rss_mb": round(peak_kb / 1024, 1),
            "rss_after_warmup_mb": next((round(s.rss_mb, 1) for s in samples
                                         if s.frames >= args.warmup), None),
            "rss_end_mb": round(samples[-1].rss_mb, 1) if samples else None,
            "growth_mb_per_10k": growth_per_10k(samples, args.warmup),
            "warmup_frames": args.warmup,
            "runs": len({run for run, _ in every}),
            "detections_received": len(detections), "stats_received": len(stats),
            "lost": processed - len(detections), "missing_seqs": missing_seqs(every),
            "duplicated": soak.duplicated(),
            "wire_repeats": sum(detections.values()) + sum(stats.values()) - len(every),
            "wire_repeat_examples": soak.duplicates()[:20], "gaps": soak.gaps(),
            "subscriber_drops": soak.subscriber_drops,
            "fps_windows": fps_windows(samples),
            "wall_s": round(samples[-1].t, 1) if samples else 0.0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0, help="seed of the outage schedule")
    p.add_argument("--up-s", type=float, default=45.0, help="mean seconds between outages")
    p.add_argument("--down-s", default="2,15", help="outage length range, seconds")
    p.add_argument("--warmup", type=int, default=3000, help="frames before growth is fitted")
    p.add_argument("--quiet-tail", type=float, default=0.05,
                   help="share of frames at the end without outages")
    p.add_argument("--sample-s", type=float, default=1.0)
    p.add_argument("--clip", type=Path, default=ROOT / "runs/bench/clips/1920x1080/few")
    p.add_argument("--out", type=Path, default=ROOT / "runs/bench/soak")
    args = p.parse_args()
    args.down_s = tuple(float(v) for v in args.down_s.split(","))
    ensure_scene(args.clip)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        soak = Soak(args, Path(tmp))
        try:
            status, peak = soak.run()
            received = soak.received()
            soak.check_subscriber()
        finally:
            soak.close()
            for name in ("mosquitto.log", "run.log"):
                if (Path(tmp) / name).is_file():
                    shutil.copy(Path(tmp) / name, args.out / name)
    summary = summarize(soak, status, peak, received)
    plot(soak.samples, soak.outages.spans, args.out / "soak.png")
    (args.out / "soak.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "outage_frames"}, indent=1))
    print(f"written {args.out / 'soak.png'} and {args.out / 'soak.json'}")


if __name__ == "__main__":
    main()
