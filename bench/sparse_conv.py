"""Dense 3x3 conv vs the sampled conv (gather -> GEMM -> scatter -> RBF interpolation).

One 64->64 3x3 conv layer on a 1x64x80x80 input, 2 threads, inference mode. The sampled conv
is timed end to end: mask -> positions, gather, GEMM, scatter, interpolation of the unsampled
positions. Masks are random with the given density, plus the grid prior (every 11th row and
column) unless ``--no-grid``; the printed density is the measured one, grid included.

Every variant is timed in the same run, interleaved (one call of each per round, order
shuffled each round), and the median over rounds is reported. Both operands get the same
input tensor; the table is printed for an NCHW (default) and a channels-last input, and every
ratio is taken against the faster of the two dense convs (oneDNN is faster on channels-last).

    .venv/bin/python bench/sparse_conv.py [--rounds 200] [--no-grid]

Fresh multi-MB buffers are page-faulted in on every call under glibc's default mmap threshold,
which is expensive in a VM and hits the sampled path (more temporaries) hardest; run with
``MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824`` to see the kernels
without that (both paths get the same allocator).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.blocks.sampled_conv import SampledConv, sample_positions, scatter_rows  # noqa: E402
from models.blocks.sampling import apply_grid_prior  # noqa: E402

DENSITIES = (1.0, 0.5, 0.25, 0.1)


def random_mask(size: int, density: float, grid_interval: int | None) -> torch.Tensor:
    mask = (torch.rand(1, 1, size, size) < density).float()
    return apply_grid_prior(mask, grid_interval) if grid_interval else mask


def conv_only(sampled: SampledConv, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """positions -> gather -> GEMM -> scatter, without the interpolation (for the breakdown)."""
    positions = sample_positions(mask)
    return scatter_rows(sampled.rows(x, positions), positions, 1, *mask.shape[-2:])


def time_interleaved(fns: dict[str, Callable[[], object]], rounds: int,
                     warmup: int = 10) -> dict[str, float]:
    """Median ms per call; each round calls every fn once, in a shuffled order."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(warmup + rounds):
        random.shuffle(names)
        for name in names:
            start = time.perf_counter()
            fns[name]()
            if r >= warmup:
                samples[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(s) for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=80)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grid-interval", type=int, default=11)
    parser.add_argument("--no-grid", action="store_true", help="masks without the grid prior")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    c, s = args.channels, args.size
    grid = None if args.no_grid else args.grid_interval

    sampled = SampledConv(c, c, 3, norm=None, act=None, interpolation="rbf").eval()
    dense = nn.Conv2d(c, c, 3, padding=1).eval()
    dense.load_state_dict(sampled.conv.state_dict())
    masks = {d: random_mask(s, d, grid) for d in DENSITIES}
    x = torch.randn(1, c, s, s)
    inputs = {"NCHW": x, "channels-last": x.contiguous(memory_format=torch.channels_last)}

    fns: dict[str, Callable[[], object]] = {}
    for layout, xin in inputs.items():
        fns[f"{layout}/dense"] = lambda xin=xin: dense(xin)
        for d, mask in masks.items():
            fns[f"{layout}/{d}"] = lambda xin=xin, mask=mask: sampled(xin, mask)
            fns[f"{layout}/{d}/conv"] = lambda xin=xin, mask=mask: conv_only(sampled, xin, mask)
    with torch.inference_mode():
        for xin in inputs.values():  # the sampled conv at density 1 must equal the dense conv
            ref = sampled.interp(dense(xin), masks[1.0])
            torch.testing.assert_close(sampled(xin, masks[1.0]), ref, atol=1e-4, rtol=1e-4)
        ms = time_interleaved(fns, args.rounds)

    print(f"3x3 conv {c}->{c}, 1x{c}x{s}x{s}, {args.threads} threads, {args.rounds} rounds "
          f"(median ms), grid prior: {f'every {grid}' if grid else 'off'}")
    print("full = the whole layer (with RBF interpolation); conv = gather -> GEMM -> scatter only;"
          " ratios are against the faster of the two dense layouts")
    print(f"{'layout':<14} {'variant':<16} {'density':>8} {'full ms':>8} {'dense/full':>11} "
          f"{'conv ms':>8} {'dense/conv':>11}")
    base = min(ms[f"{layout}/dense"] for layout in inputs)  # the faster dense layout
    for layout in inputs:
        dense_ms = ms[f"{layout}/dense"]
        print(f"{layout:<14} {'dense nn.Conv2d':<16} {1.0:>8.3f} {dense_ms:>8.3f} "
              f"{base / dense_ms:>11.2f}")
        for d, mask in masks.items():
            full, conv = ms[f"{layout}/{d}"], ms[f"{layout}/{d}/conv"]
            print(f"{layout:<14} {'sampled @ ' + str(d):<16} {mask.mean().item():>8.3f} "
                  f"{full:>8.3f} {base / full:>11.2f} {conv:>8.3f} {base / conv:>11.2f}")


if __name__ == "__main__":
    main()
