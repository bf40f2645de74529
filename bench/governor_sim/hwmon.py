"""A stand-in of one ``ina2xx`` hwmon device (kernel ``Documentation/hwmon/ina2xx.rst``):
``name``, ``in1_input`` mV, ``curr1_input`` mA and ``power1_input`` uW, decimal integers and a
newline, under ``<sysfs_root>/class/hwmon/hwmonN``. The simulated plant writes its readings
here and the real :class:`firmware_py.power.ina2xx.Ina2xxSensor` reads them back."""

from __future__ import annotations

from pathlib import Path


class FakeHwmon:
    """Stand-in of one ``ina2xx`` hwmon device under ``<sysfs_root>/class/hwmon/hwmonN``.

    The attribute files stay open and are rewritten in place, truncated after the new text
    (emptying a file and refilling it costs milliseconds on ext4, which frees and reallocates
    its block, and flushes it on close)."""

    ATTRIBUTES = ("in1_input", "curr1_input", "power1_input")

    def __init__(self, sysfs_root: str | Path, chip: str = "ina219", index: int = 0) -> None:
        self.dir = Path(sysfs_root, "class/hwmon", f"hwmon{index}")
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "name").write_text(chip + "\n")
        self._files = {name: (self.dir / name).open("w", encoding="ascii")
                       for name in self.ATTRIBUTES}

    def write(self, watts: float, bus_v: float) -> None:
        """Rewrite the attributes for a reading of ``watts`` at ``bus_v`` volts."""
        watts = max(watts, 0.0)
        values = (bus_v * 1e3, watts / bus_v * 1e3, watts * 1e6)  # mV, mA, uW
        for name, value in zip(self.ATTRIBUTES, values, strict=True):
            f = self._files[name]
            f.seek(0)
            f.write(f"{round(value)}\n")
            f.truncate()  # at the end of the new text: never frees the file's block
            f.flush()

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def __enter__(self) -> FakeHwmon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
