"""The shipped models: recipes, checkpoints and model cards (``specks zoo build``)."""

from pathlib import Path

ZOO_DIR = Path(__file__).parent


def default_checkpoint(name: str = "specknet-nano") -> Path:
    return ZOO_DIR / f"{name}.pt"
