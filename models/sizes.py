"""One way to write an image or input size on every command line: ``WxH``, width first, as
image sizes are usually written (``1920x1080``; a ``320x192`` input is 320 pixels wide and 192
high). A single number is a square."""

from __future__ import annotations

import argparse


def parse_wxh(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> ``(1920, 1080)``; ``"320"`` -> ``(320, 320)``."""
    w, _, h = text.lower().partition("x")
    try:
        width, height = int(w), int(h or w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, e.g. 1920x1080, got '{text}'") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"expected a positive WxH, got '{text}'")
    return width, height
