"""Parity: eager PyTorch vs an artifact in its real runtime, on validation inputs.

Per output, the cosine similarity and the largest absolute error over all samples together
(flattened and concatenated), so one bad tile is not averaged away in the cosine of a mean:
the export gate. Per input, the agreement on what the device acts on
(``firmware_py.agreement``): its distribution and the tolerances the device self-test holds
the golden input to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from firmware_py.agreement import Decode, check, measure, tolerances
from firmware_py.decode import decode_centernet
from firmware_py.manifest import Agreement, CenterNetDecode, OutputParity, Parity, SaliencyDecode
from firmware_py.runtimes import Runner

from . import ExportError

FP32_MIN_COSINE = 0.9999
INT8_MIN_COSINE = 0.98


class ParityError(ExportError):
    """An artifact disagrees with eager PyTorch beyond the threshold."""


def eager_outputs(model: nn.Module, x: torch.Tensor) -> list[np.ndarray]:
    with torch.no_grad():
        out = model.eval()(x)
    out = out if isinstance(out, (tuple, list)) else [out]
    return [o.detach().float().numpy() for o in out]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    if denom == 0.0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.clip(a @ b / denom, -1.0, 1.0))


def compare(model: nn.Module, runner: Runner, inputs: Iterable[torch.Tensor],
            names: Sequence[str], min_cosine: float) -> Parity:
    """Run ``model`` and ``runner`` on every input (NCHW float batches) and compare."""
    ref: list[list[np.ndarray]] = [[] for _ in names]
    got: list[list[np.ndarray]] = [[] for _ in names]
    samples = 0
    for x in inputs:
        for i, (e, a) in enumerate(zip(eager_outputs(model, x), runner(x.numpy()), strict=True)):
            if e.shape != a.shape:
                raise ParityError(f"output {names[i]}: artifact shape {a.shape} != eager "
                                  f"{e.shape}")
            ref[i].append(e.ravel())
            got[i].append(a.ravel())
        samples += x.shape[0]
    if samples == 0:
        raise ExportError("parity check got no validation inputs")
    outputs = []
    for name, e, a in zip(names, ref, got, strict=True):
        e, a = np.concatenate(e), np.concatenate(a)
        outputs.append(OutputParity(name=name, cosine=cosine(e, a),
                                    max_abs_error=float(np.max(np.abs(e - a)))))
    passed = all(o.cosine >= min_cosine for o in outputs)
    return Parity(num_samples=samples, min_cosine=min_cosine, outputs=tuple(outputs),
                  passed=passed)


def golden_index(references: Sequence[Sequence[np.ndarray]], decode: Decode) -> int:
    """The validation input the self-test replays: where eager finds the most detections (a
    detector), the most cells above probability 0.5 (a saliency prior), else the first."""
    def richness(outputs: Sequence[np.ndarray]) -> float:
        if isinstance(decode, CenterNetDecode):
            return float(sum(len(d) for d in decode_centernet(outputs, decode)))
        if isinstance(decode, SaliencyDecode):
            return float(np.sum(outputs[0] > (0.0 if decode.is_logits else 0.5)))
        return 0.0

    scores = [richness(r) for r in references]
    return int(np.argmax(scores)) if scores else 0


def agreement(references: Sequence[Sequence[np.ndarray]], runner: Runner,
              inputs: Sequence[torch.Tensor], names: Sequence[str], decode: Decode,
              golden: int) -> Agreement:
    """``firmware_py.agreement`` of ``runner`` against the eager ``references`` of each
    input: the distribution, the self-test tolerances and the golden input's own values."""
    tiles = [measure(ref, runner(x.numpy()), names, decode)
             for ref, x in zip(references, inputs, strict=True)]
    tolerance, quantiles = tolerances(tiles, decode)
    golden_checks = check(tiles[golden], tolerance, decode)
    return Agreement(tiles=len(tiles), tolerance=tolerance, quantiles=quantiles,
                     golden={c.metric: c.value for c in golden_checks})
