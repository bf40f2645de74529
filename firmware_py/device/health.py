"""The health file: ``specks run --health-file PATH`` atomically rewrites one JSON object there
every stats period, ``{"t_wall", "frames", "fps", "bundle", "model", "ok"}``; an install waits
for a fresh healthy one after restarting the service, and ``specks device status`` shows it.

Choices: a record is fresh when its ``t_wall`` (unix time) is later than the moment the
restart was issued; it is the new bundle's when its ``bundle`` path resolves to the new slot.
The pipeline should write the bundle directory it actually loaded, resolved
(``os.path.realpath``), so a last record of the old process, written while the restart is
under way, names the old slot and is not mistaken for the new one. Unknown extra keys are
kept, so the pipeline can add fields without breaking older readers.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from firmware_py.device import DeviceError
from firmware_py.device.slots import read_json, write_json

log = logging.getLogger(__name__)


class Health(BaseModel):
    """One health record of the running pipeline."""

    model_config = ConfigDict(extra="allow", frozen=True)

    t_wall: float = Field(..., ge=0, description="unix time the record was written")
    frames: int = Field(0, ge=0, description="frames processed since start")
    fps: float = Field(0.0, ge=0, description="frames per second over the stats period")
    bundle: str = Field("", description="bundle directory the pipeline runs")
    model: str = Field("", description="model name from the manifest")
    ok: bool = Field(False, description="the pipeline considers itself healthy")

    def runs(self, bundle: Path) -> bool:
        """True if this record comes from the pipeline running ``bundle``."""
        return bool(self.bundle) and os.path.realpath(self.bundle) == os.path.realpath(bundle)


class HealthTimeout(DeviceError):
    """No fresh healthy record arrived in time."""


def write_health(path: str | Path, health: Health) -> None:
    """Atomically replace the health file with ``health``."""
    write_json(Path(path), health.model_dump())


def read_health(path: str | Path) -> Health | None:
    """The last health record, or None if there is none (or it is not a valid record)."""
    data = read_json(Path(path))
    if data is None:
        return None
    try:
        return Health.model_validate(data)
    except ValidationError as error:
        log.warning("%s: not a health record (%s)", path, error.errors()[0]["msg"])
        return None


def wait_healthy(path: str | Path, since: float, bundle: Path, timeout: float,
                 poll: float = 0.2) -> Health:
    """Wait for a record newer than ``since`` from ``bundle`` with ``ok`` true."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        health = read_health(path)
        if health is not None and health.t_wall > since:
            last = health
            if health.ok and health.runs(bundle):
                return health
        if time.monotonic() > deadline:
            seen = "no fresh record" if last is None else \
                f"last record ok={last.ok} bundle={last.bundle} fps={last.fps:.1f}"
            raise HealthTimeout(f"{path}: no healthy stats from {bundle} within "
                                f"{timeout:.0f} s of the restart ({seen})")
        time.sleep(poll)
