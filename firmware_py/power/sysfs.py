"""Reading sysfs attribute files (kernel Documentation/filesystems/sysfs.rst: one value per
file, ASCII, with a trailing newline). Every failure becomes a :class:`SensorError` naming the
file, so a broken sensor says which attribute it could not read."""

from __future__ import annotations

from pathlib import Path

from firmware_py.power.base import SensorError


def read_text(path: Path) -> str:
    """The stripped contents of one attribute."""
    try:
        return path.read_text().strip()
    except PermissionError as e:
        raise SensorError(f"{path}: permission denied (run as root or grant read access)") \
            from e
    except OSError as e:  # a disabled channel answers ENODATA, a removed device ENOENT
        raise SensorError(f"{path}: cannot read: {e.strerror or e}") from e


def read_int(path: Path) -> int:
    """One integer attribute (hwmon and powercap values are decimal integers)."""
    text = read_text(path)
    try:
        return int(text)
    except ValueError:
        raise SensorError(f"{path}: expected an integer, got {text!r}") from None
