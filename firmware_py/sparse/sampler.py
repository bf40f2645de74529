"""The tile sampler: which ``k`` tiles the detector runs on this frame (step 2 of
sparse-sampling inference, ``docs/architecture.md``). Frame-scale form of the sampling and
grid prior of stochastic feature sampling (Xie et al., "Spatially Adaptive Inference with
Stochastic Feature Sampling and Interpolation", arXiv 2003.08866, Sec. 3.1-3.2): tiles are
drawn by the prior's probability, and a grid prior in *time* guarantees that every tile is
visited at least once every ``N`` frames, so no region is ignored forever.

Choices of ours, where the paper (which samples feature positions, not tiles) is silent:

- Ages. ``ages[i]`` counts the frames since tile ``i`` last ran (0 right after it ran; every
  tile starts at 0, as if all had run just before the first frame). The guarantee is that two
  consecutive runs of a tile are at most ``N`` frames apart (and the first one is within the
  first ``N`` frames): ages never exceed ``N - 1`` between frames.
- Forcing. Tiles whose age reaches ``N`` are due and forced first. Forcing only those is not
  enough: with ``T = 5`` tiles, ``N = 3``, ``k = 2`` and a prior that keeps drawing the same
  two tiles, three tiles fall due on one frame. So the sampler plans ahead as
  earliest-deadline-first scheduling does: with ``D(h)`` the number of tiles that must run
  within the next ``h`` frames, it forces the ``max_h D(h) - (h - 1) k`` most urgent tiles
  (oldest first, then higher probability, then lower index), just enough that the remaining
  frames can still serve the rest. This keeps the schedule feasible forever if and only if
  ``k >= ceil(T / N)`` (each frame serves ``k`` of the ``T / N`` tiles that fall due per frame
  on average), which the constructor and :meth:`TileSampler.set_budget` check, raising
  :class:`ValueError` otherwise. A budget above ``T`` runs every tile.
- Budget cuts. After :meth:`TileSampler.set_budget` lowers ``k``, more than ``k`` tiles may
  fall due on some frame; the ``k`` oldest run and the guarantee lapses until that backlog
  is served (a few frames), after which it holds again.
- Drawing. The remaining budget is drawn by probability without replacement with the
  Gumbel-top-k trick (Kool et al., "Stochastic Beams and Where to Find Them", arXiv
  1903.06059, Sec. 2): the ``k`` largest ``log p_i + g_i``, ``g_i ~ Gumbel(0, 1)``, are a
  sample of successive draws proportional to ``p``. ``temperature`` ``t`` draws in proportion
  to ``p ** (1 / t)`` instead (keys ``log p / t + g``): the prior's probabilities are calibrated
  for nothing, and below 1 the draw favours the tiles it ranks high over the many it gives a
  small chance (measured in ``bench/pipeline.py``). ``p`` is clipped to ``[1e-12, 1]``. The
  noise comes from a ``numpy`` ``Generator`` seeded by ``seed``, so a seed and a sequence
  of probabilities give one sequence of tile sets.
- Adaptive budget (``level`` set). The work follows the prior instead of a fixed ``k``:
  every tile whose probability reaches ``level`` runs ("lit"), plus ``ceil(explore * T)``
  tiles drawn by probability among the others, so the cues' blind spots are sampled too.
  A tile that has not run since the last reset counts as lit: its content is unknown (the
  first frame runs the whole grid, up to the budget). The count is bounded above by the
  budget (the profile's, or the governor's through :meth:`TileSampler.set_budget`: the
  governor stays in charge of power) and below by the tiles the revisit guarantee forces
  this frame. Forced tiles come first, then lit ones, then the draw; above the budget, the
  Gumbel keys choose among the lit tiles as among all.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

TINY = 1e-12
LIT = 1e6  # added to the keys of lit tiles: drawn before any other (keys are ~log p + Gumbel)


class SamplerConfig(BaseModel):
    """Budget, revisit period and seed of :class:`TileSampler`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: int = Field(8, ge=1, le=4096, description="tiles the detector runs per frame (k); "
                        "the governor changes it at run time")
    revisit_frames: int = Field(30, ge=1, le=100_000, description="every tile runs at least "
                                "once every this many frames (N); needs budget >= "
                                "ceil(tiles / N)")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="seed of the sampling noise")
    age_weight: float = Field(0.0, ge=0.0, le=1.0, description="raise a tile's probability "
                              "with the frames since it ran: p' = 1 - (1 - p) * (1 - w * age "
                              "/ revisit_frames), so tiles no cue lights are explored before "
                              "the guarantee forces them")
    temperature: float = Field(1.0, gt=0.0, le=10.0, description="tiles are drawn in "
                               "proportion to p ** (1 / temperature): 1 = the prior as is, "
                               "below 1 favours the likely tiles more")
    level: float | None = Field(None, gt=0.0, le=1.0, description="adaptive budget: every "
                                "tile whose prior reaches this runs (up to the budget); null "
                                "= always run the budget")
    explore: float = Field(0.0, ge=0.0, le=1.0, description="adaptive budget: share of the "
                           "grid drawn by probability each frame on top of the lit tiles")


def min_budget(num_tiles: int, revisit_frames: int) -> int:
    """The smallest budget that can visit ``num_tiles`` tiles once every ``revisit_frames``."""
    return math.ceil(num_tiles / revisit_frames)


class TileSampler:
    """Draws the tiles to run each frame from a ``(T,)`` probability; see the module notes."""

    def __init__(self, num_tiles: int, config: SamplerConfig | None = None) -> None:
        if num_tiles < 1:
            raise ValueError(f"need at least one tile, got {num_tiles}")
        self.num_tiles = num_tiles
        self.config = config or SamplerConfig()
        self.revisit_frames = self.config.revisit_frames
        self.set_budget(self.config.budget)
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """Restart the noise from ``seed`` (default: the config's) and set every age to 0."""
        self._rng = np.random.default_rng(self.config.seed if seed is None else seed)
        self._ages = np.zeros(self.num_tiles, dtype=np.int64)
        self._seen = np.zeros(self.num_tiles, dtype=bool)

    @property
    def budget(self) -> int:
        """Tiles run per frame: the budget, at most the number of tiles."""
        return min(self._budget, self.num_tiles)

    @property
    def ages(self) -> np.ndarray:
        """``(T,)`` int64 frames since each tile last ran (a copy)."""
        return self._ages.copy()

    def set_budget(self, budget: int) -> None:
        """Change ``k`` (the governor's knob); raises if it cannot keep the revisit guarantee."""
        need = min_budget(self.num_tiles, self.revisit_frames)
        if budget < need:
            raise ValueError(f"a budget of {budget} tiles per frame cannot visit {self.num_tiles}"
                             f" tiles once every {self.revisit_frames} frames; it needs at "
                             f"least ceil({self.num_tiles} / {self.revisit_frames}) = {need}")
        self._budget = int(budget)

    def _forced_count(self, ages: np.ndarray, k: int) -> int:
        """How many of the most urgent tiles must run now so that later frames can still serve
        every tile before its deadline (earliest-deadline-first feasibility)."""
        n = self.revisit_frames
        slack = np.sort(np.clip(n + 1 - ages, 1, n))  # frames left, this one included
        due_within = np.searchsorted(slack, slack, side="right")  # D(h) at each h = slack
        need = due_within - (slack - 1) * k  # D(h) - (h - 1) k, largest at some slack value
        return int(np.clip(need.max(), 0, k))

    def _count(self, p: np.ndarray, forced: int) -> tuple[int, np.ndarray]:
        """Tiles to run this frame, and the lit mask (all False with a fixed budget)."""
        cfg, k = self.config, self.budget
        if cfg.level is None:
            return k, np.zeros(self.num_tiles, bool)
        lit = (p >= cfg.level) | ~self._seen
        want = int(lit.sum()) + math.ceil(cfg.explore * self.num_tiles)
        return min(max(want, forced), k), lit

    def __call__(self, probability: np.ndarray) -> np.ndarray:
        """Sorted int64 indices of the tiles to run this frame (``budget`` of them, or the
        adaptive count); advances the ages."""
        p = np.asarray(probability, dtype=np.float64).reshape(-1)
        if p.shape != (self.num_tiles,) or np.isnan(p).any():
            raise ValueError(f"expected {self.num_tiles} probabilities without NaN, got shape "
                             f"{np.shape(probability)}")
        self._ages += 1
        age = np.minimum(self._ages / self.revisit_frames, 1.0)
        p = np.clip(1.0 - (1.0 - p) * (1.0 - self.config.age_weight * age), TINY, 1.0)
        urgency = np.lexsort((np.arange(self.num_tiles), -p, -self._ages))  # oldest first
        forced = urgency[: self._forced_count(self._ages, self.budget)]
        k, lit = self._count(p, len(forced))
        keys = np.log(p) / self.config.temperature + self._rng.gumbel(size=self.num_tiles)
        keys[lit] += LIT
        keys[forced] = -np.inf
        drawn = np.argsort(-keys, kind="stable")[: k - len(forced)]
        chosen = np.sort(np.concatenate([forced, drawn]))
        self._ages[chosen] = 0
        self._seen[chosen] = True
        return chosen.astype(np.int64)
