"""Detection heads: per-position prediction branches on top of a neck feature."""

from .centernet import CenterNetHead

__all__ = ["CenterNetHead"]
