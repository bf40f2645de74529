"""How closely an artifact's outputs agree with the eager (golden) outputs, measured on what the
device acts on. The exporter measures it on every parity tile and records, per artifact, the
distribution and a tolerance (``manifest.Agreement``); the device self-test measures the
golden tile in the board's runtime and passes when every metric is within tolerance.

What is compared (choices of ours, where a tensor-wide cosine misleads):

- A CenterNet detector: its decoded detections, matched to the golden ones greedily (highest
  golden score first) to the same-class box of highest IoU, and the heatmap's cosine (the map
  every detection is read from). Size and offset are read only at peaks, so they are compared
  through the boxes, never as whole tensors: on empty cells they are unconstrained noise (an
  int8 size map of an empty tile reached cosine 0.97 against eager, a false alarm).
  Metrics per tile: ``box_iou`` (worst matched pair), ``score_diff`` (largest score change of
  a matched pair) and ``unmatched`` (detections of either side without a partner that score
  above the deployed threshold by more than the score tolerance: a score that close to the
  threshold may flip either way without anything being wrong).
- A saliency prior: the probability map the tile prior max-pools (sigmoid of the logits):
  ``prob_diff`` (largest absolute change) and its cosine. A logit of -12 against -15 changes
  nothing the device does.
- Any other model: each raw output's cosine.

Tolerances (``tolerance``): a metric's worst value over the exporter's tiles, widened by its
distance from the median once more (``worst + (worst - median)``), so a board passes when it
is no further from eager than twice the host's worst spread; ``unmatched`` is an integer bound,
the host's worst tile. fp32 and int8 get their own, from their own spread, not a floor set by
hand. The widening is at least the metric's float32 ``RESOLUTION``: an fp32 artifact can
match eager exactly on every host tile, and another CPU's kernels (NEON rather than AVX, other
summation orders) still differ by rounding. A tolerance that no value could break (a
probability difference bound of 1 or more, a cosine bound of -1 or less) is left out: the
check could not fail, and the quantiles still show the spread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from firmware_py.decode import Detections, decode_centernet
from firmware_py.manifest import CenterNetDecode, SaliencyDecode
from firmware_py.nms import pairwise_overlap

HIGHER_IS_BETTER = ("box_iou",)  # and every "<output>_cosine"
# float32 rounding through a net, per metric: relative ~1e-6 per layer on pixel coordinates
# and unit-range scores, accumulated over tens of layers
RESOLUTION = {"box_iou": 1e-4, "score_diff": 1e-4, "prob_diff": 1e-4}
COSINE_RESOLUTION = 1e-6
QUANTILES = (0.0, 0.05, 0.5, 0.95, 1.0)
Decode = CenterNetDecode | SaliencyDecode | None


def better_is_higher(metric: str) -> bool:
    return metric in HIGHER_IS_BETTER or metric.endswith("_cosine")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    if denom == 0.0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.clip(a @ b / denom, -1.0, 1.0))


@dataclass
class Matching:
    """Golden and artifact detections of one tile, paired."""

    ious: list[float] = field(default_factory=list)
    score_diffs: list[float] = field(default_factory=list)
    unmatched_scores: list[float] = field(default_factory=list)
    golden_count: int = 0

    def unmatched(self, threshold: float, band: float) -> int:
        return sum(s > threshold + band for s in self.unmatched_scores)


def _candidates(outputs: Sequence[np.ndarray], spec: CenterNetDecode) -> Detections:
    """Detections down to half the deployed threshold, so a partner just below it is found."""
    loose = spec.model_copy(update={"score_threshold": spec.score_threshold / 2})
    return decode_centernet([np.asarray(o, np.float32) for o in outputs], loose)[0]


def match_detections(golden: Sequence[np.ndarray], got: Sequence[np.ndarray],
                     spec: CenterNetDecode) -> Matching:
    want, have = _candidates(golden, spec), _candidates(got, spec)
    overlap = pairwise_overlap(want.boxes, have.boxes) if len(want) and len(have) else \
        np.zeros((len(want), len(have)))
    overlap[np.all(want.boxes[:, None] == have.boxes[None], axis=2)] = 1.0  # zero-area too
    overlap[want.labels[:, None] != have.labels[None, :]] = 0.0
    result = Matching(golden_count=int(np.sum(want.scores >= spec.score_threshold)))
    free = np.ones(len(have), bool)
    for i in np.argsort(-want.scores, kind="stable"):
        j = int(np.argmax(np.where(free, overlap[i], -1.0))) if free.any() else -1
        if j < 0 or overlap[i, j] <= 0.0:
            result.unmatched_scores.append(float(want.scores[i]))
            continue
        free[j] = False
        if max(want.scores[i], have.scores[j]) >= spec.score_threshold:
            result.ious.append(float(overlap[i, j]))
            result.score_diffs.append(abs(float(want.scores[i] - have.scores[j])))
    result.unmatched_scores += [float(s) for s in have.scores[free]]
    return result


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x.astype(np.float64)) + 1.0)


def tensor_metrics(golden: Sequence[np.ndarray], got: Sequence[np.ndarray],
                   names: Sequence[str], decode: Decode) -> dict[str, float]:
    """The tensor comparisons that mean something for this decode (module docstring)."""
    if isinstance(decode, CenterNetDecode):
        return {f"{names[0]}_cosine": cosine(golden[0], got[0])}
    if isinstance(decode, SaliencyDecode):
        want, have = (_sigmoid(x) if decode.is_logits else x for x in (golden[0], got[0]))
        return {f"{names[0]}_cosine": cosine(want, have),
                "prob_diff": float(np.max(np.abs(want - have)))}
    return {f"{name}_cosine": cosine(a, b) for name, a, b in zip(names, golden, got, strict=True)}


@dataclass
class TileAgreement:
    """The metrics of one tile; ``matching`` only for a detector."""

    metrics: dict[str, float]
    matching: Matching | None = None


def measure(golden: Sequence[np.ndarray], got: Sequence[np.ndarray], names: Sequence[str],
            decode: Decode) -> TileAgreement:
    """Compare one tile's artifact outputs with its golden outputs (both float32, NCHW)."""
    if len(golden) != len(got):
        raise ValueError(f"{len(got)} outputs, golden has {len(golden)}")
    for name, a, b in zip(names, golden, got, strict=True):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"output {name}: shape {np.shape(b)} differs from golden "
                             f"{np.shape(a)}")
    metrics = tensor_metrics(golden, got, names, decode)
    if not isinstance(decode, CenterNetDecode):
        return TileAgreement(metrics)
    matching = match_detections(golden, got, decode)
    if matching.ious:
        metrics["box_iou"] = min(matching.ious)
        metrics["score_diff"] = max(matching.score_diffs)
    return TileAgreement(metrics, matching)


def _widened(metric: str, values: Sequence[float]) -> float:
    higher = better_is_higher(metric)
    worst = min(values) if higher else max(values)
    spread = max(abs(worst - float(np.median(values))),
                 RESOLUTION.get(metric, COSINE_RESOLUTION))
    return float(worst - spread if higher else worst + spread)


def _vacuous(metric: str, bound: float) -> bool:
    """Whether no value of ``metric`` (cosines in [-1, 1], the rest in [0, 1]) could break
    ``bound``."""
    if better_is_higher(metric):
        return bound <= (-1.0 if metric.endswith("_cosine") else 0.0)
    return bound >= 1.0


def tolerances(tiles: Sequence[TileAgreement], decode: Decode
               ) -> tuple[dict[str, float], dict[str, tuple[float, ...]]]:
    """``(tolerance, quantiles)`` per metric over the exporter's tiles."""
    names = sorted({k for t in tiles for k in t.metrics})
    values = {k: [t.metrics[k] for t in tiles if k in t.metrics] for k in names}
    tolerance = {k: _widened(k, v) for k, v in values.items()}
    tolerance = {k: v for k, v in tolerance.items() if not _vacuous(k, v)}
    if isinstance(decode, CenterNetDecode):
        band = tolerance.get("score_diff", 0.0)
        values["unmatched"] = [float(t.matching.unmatched(decode.score_threshold, band))
                               for t in tiles if t.matching is not None]
        tolerance["unmatched"] = max(values["unmatched"], default=0.0)
    quantiles = {k: tuple(float(q) for q in np.quantile(v, QUANTILES))
                 for k, v in values.items() if v}
    return tolerance, quantiles


@dataclass(frozen=True)
class Check:
    """One metric of the self-test against its tolerance."""

    metric: str
    value: float
    tolerance: float

    @property
    def passed(self) -> bool:
        if better_is_higher(self.metric):
            return self.value >= self.tolerance
        return self.value <= self.tolerance

    @property
    def margin(self) -> float:
        """How far inside the tolerance (negative: outside)."""
        sign = 1.0 if better_is_higher(self.metric) else -1.0
        return sign * (self.value - self.tolerance)

    def __str__(self) -> str:
        op = (">=" if self.passed else "<") if better_is_higher(self.metric) else \
            ("<=" if self.passed else ">")
        return f"{self.metric} {self.value:.4g} {op} {self.tolerance:.4g}"


def check(tile: TileAgreement, tolerance: Mapping[str, float], decode: Decode) -> list[Check]:
    """Every recorded tolerance checked on one measured tile; a metric the tile lacks (no
    matched box) fails unless the tolerance set has none either."""
    checks = []
    for metric, bound in sorted(tolerance.items()):
        if metric == "unmatched" and tile.matching is not None:
            band = tolerance.get("score_diff", 0.0)
            value = float(tile.matching.unmatched(decode.score_threshold, band))
        elif metric in tile.metrics:
            value = tile.metrics[metric]
        else:
            value = -np.inf if better_is_higher(metric) else np.inf
        checks.append(Check(metric, value, bound))
    return checks
