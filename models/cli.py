"""Host subcommands of the ``specks`` CLI (registered through the ``specks.commands`` entry
point group). Registration imports nothing heavy; torch is imported when a command runs."""

from __future__ import annotations

import argparse


def _parse_size(text: str) -> tuple[int, int]:
    h, _, w = text.lower().partition("x")
    return int(h), int(w or h)


def _models(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .registry import create_model, list_models, model_record
    from .summary import count_gflops, count_params

    table = Table(title="Specks registered networks")
    for col in ("model", "task", "input", "params", "GFLOPs"):
        table.add_column(col, justify="left" if col in ("model", "task") else "right")
    for name in list_models():
        record = model_record(name)
        size = (record.input_size[0], *args.size) if args.size else record.input_size
        model = create_model(name)
        table.add_row(name, record.task, "x".join(map(str, size[1:])),
                      f"{count_params(model):,}", f"{count_gflops(model, size):.3f}")
    Console().print(table)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="table of registered nets: params and GFLOPs")
    p.add_argument("--size", type=_parse_size, default=None,
                   help="input HxW for every net (default: each net's own input size)")
    p.set_defaults(func=_models)
