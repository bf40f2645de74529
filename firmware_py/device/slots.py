"""A/B slots under the device root, and the ``current`` / ``previous`` links between them.

A link is switched the way rename(2) makes atomic: write the new symlink under a temporary
name, then ``os.replace`` it over the old one, then fsync the directory, so a reader (or a
power cut) sees the old link or the new one, never none. Links are relative (``slots/a``) so a
root mounted elsewhere (an SD card's rootfs on a workstation) still resolves.

Choices where the A/B scheme is silent:
- The slot ``current`` points to is never written. A new bundle is first copied beside the
  slots (``slots/.staged.incoming``) and verified and self-tested there, so a refused bundle
  changes nothing: both slots and both links stay. Only then does it replace the other slot
  (``previous`` is unlinked first if it names that slot, so no link ever names a slot being
  written), by a rename, so ``slots/<x>`` existing means a whole copy.
- Commit moves ``previous`` to the old current, then ``current`` to the new slot; a stop
  between the two leaves both on the old bundle, which is still valid.
- One install at a time: an exclusive ``flock(2)`` on ``<root>/.lock``, released by the
  kernel if the holder dies.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from firmware_py.atomic import fsync_dir, write_atomic
from firmware_py.device import DeviceError
from firmware_py.manifest import Manifest, manifest_problem
from firmware_py.verify import MANIFEST, SIGNATURE

log = logging.getLogger(__name__)

SLOTS = ("a", "b")
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Layout:
    """The paths of a device root."""

    root: Path

    @property
    def slots(self) -> Path:
        return self.root / "slots"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def previous(self) -> Path:
        return self.root / "previous"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def health_file(self) -> Path:
        return self.run / "health.json"

    @property
    def install_record(self) -> Path:
        return self.run / "install.json"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def board_file(self) -> Path:
        """The board profile the last install self-tested with, overrides applied (YAML)."""
        return self.root / "board.yaml"

    def slot(self, name: str) -> Path:
        return self.slots / name

    def linked_slot(self, link: Path) -> str | None:
        """The slot name ``link`` points to, or None (absent, dangling or foreign)."""
        try:
            target = os.readlink(link)
        except OSError:
            return None
        parts = Path(target).parts
        if len(parts) == 2 and parts[0] == "slots" and parts[1] in SLOTS \
                and self.slot(parts[1]).is_dir():
            return parts[1]
        return None

    def inactive_slot(self) -> str:
        """The slot a new bundle goes into: the one ``current`` does not point to."""
        current = self.linked_slot(self.current)
        return SLOTS[1] if current == SLOTS[0] else SLOTS[0]


def switch_link(link: Path, slot: str) -> None:
    """Point ``link`` at ``slots/<slot>`` atomically (symlink under a temp name, rename)."""
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(f"slots/{slot}", tmp)
    os.replace(tmp, link)
    fsync_dir(link.parent)


@contextlib.contextmanager
def locked(layout: Layout, timeout: float = 600.0) -> Iterator[None]:
    """Hold the root's exclusive install lock; wait up to ``timeout`` seconds for it."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.root / ".lock", "a") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DeviceError(f"{layout.root}/.lock: another install or rollback is "
                                      f"running (waited {timeout:.0f} s)") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def remove_debris(layout: Layout) -> None:
    """Remove what an interrupted install left: temp links and half-filled slots."""
    for tmp in layout.root.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    if layout.slots.is_dir():
        for tmp in layout.slots.glob(".*.incoming"):
            shutil.rmtree(tmp, ignore_errors=True)


def bundle_files(manifest: Manifest) -> list[str]:
    """Bundle-relative paths of every file of a verified bundle, manifest and signature last."""
    return [*sorted(manifest.files), MANIFEST, SIGNATURE]


def bundle_bytes(root: Path, manifest: Manifest) -> int:
    return sum((root / rel).stat().st_size for rel in bundle_files(manifest))


def _copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, _COPY_CHUNK)
        fout.flush()
        os.fsync(fout.fileno())


def check_space(layout: Layout, needed: int, reserve: int = 0) -> None:
    """Refuse before writing if the slots' filesystem cannot take ``needed`` bytes beside both
    slots (a new bundle is staged and self-tested before a slot is freed) and still keep
    ``reserve`` bytes free."""
    layout.slots.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(layout.slots).free
    if needed + reserve > free:
        raise DeviceError(f"not enough space in {layout.slots}: the bundle needs "
                          f"{needed / 1e6:.2f} MB (+{reserve / 1e6:.2f} MB reserve), "
                          f"{free / 1e6:.2f} MB free; nothing was changed")


def stage_copy(layout: Layout, bundle: Path, manifest: Manifest) -> Path:
    """Copy a verified bundle beside the slots (``slots/.staged.incoming``, fsync'd), where it
    is verified and self-tested before any slot or link is touched; return its path."""
    staged = layout.slots / ".staged.incoming"
    shutil.rmtree(staged, ignore_errors=True)
    try:
        for rel in bundle_files(manifest):
            _copy_file(bundle / rel, staged / rel)
        fsync_dir(staged)
    except OSError as error:
        shutil.rmtree(staged, ignore_errors=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DeviceError(f"disk full while copying the bundle ({error.strerror}); the "
                              "partial copy was removed, nothing was changed") from None
        raise
    return staged


def place_slot(layout: Layout, slot: str, staged: Path) -> Path:
    """Move a staged, tested bundle into ``slot`` (never the current one), replacing what the
    slot held; ``previous`` is unlinked first if it names that slot. Return the slot path."""
    if layout.linked_slot(layout.current) == slot:
        raise DeviceError(f"slot {slot} is the current slot; refusing to overwrite it")
    if layout.linked_slot(layout.previous) == slot:
        layout.previous.unlink()
        fsync_dir(layout.root)
    target = layout.slot(slot)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staged, target)
    fsync_dir(layout.slots)
    return target


def commit(layout: Layout, slot: str) -> None:
    """Make ``slot`` current and the old current previous."""
    old = layout.linked_slot(layout.current)
    if old == slot:
        return
    if old is not None:
        switch_link(layout.previous, old)
    switch_link(layout.current, slot)


def swap(layout: Layout) -> tuple[str, str]:
    """Exchange ``current`` and ``previous`` (a rollback); return (new current, new previous)."""
    current, previous = layout.linked_slot(layout.current), layout.linked_slot(layout.previous)
    if previous is None:
        raise DeviceError(f"{layout.root}: no previous bundle to roll back to")
    switch_link(layout.current, previous)
    if current is not None:
        switch_link(layout.previous, current)
    return previous, current or ""


def manifest_sha256(bundle: Path) -> str:
    return hashlib.sha256((bundle / MANIFEST).read_bytes()).hexdigest()


def read_manifest(bundle: Path) -> Manifest:
    """The manifest of a bundle directory, unverified (for reports and choices)."""
    path = bundle / MANIFEST
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise DeviceError(f"{path}: not a bundle (no {MANIFEST})") from None
    except ValidationError as error:
        raise DeviceError(f"{path}: invalid manifest, {manifest_problem(error)}") from None


def bundle_version(bundle: Path) -> str:
    """``<model>@<sha256 of manifest.json, 12 hex>``: names one exact bundle."""
    return f"{read_manifest(bundle).model}@{manifest_sha256(bundle)[:12]}"


@dataclass(frozen=True)
class SlotInfo:
    """What one slot holds, as ``specks device status`` reports it."""

    slot: str
    role: str
    version: str | None
    created: str | None
    signer: str | None
    boards: tuple[str, ...]
    error: str | None


def slot_info(layout: Layout, slot: str) -> SlotInfo:
    role = " ".join(name for name, link in (("current", layout.current),
                                            ("previous", layout.previous))
                    if layout.linked_slot(link) == slot) or "-"
    path = layout.slot(slot)
    if not path.is_dir():
        return SlotInfo(slot, role, None, None, None, (), "empty")
    try:
        manifest = read_manifest(path)
    except DeviceError as error:
        return SlotInfo(slot, role, None, None, None, (), str(error))
    return SlotInfo(slot, role, bundle_version(path), manifest.created.isoformat(),
                    (manifest.signer or "")[:12] or None, manifest.boards, None)


def read_json(path: Path) -> dict | None:
    """A small JSON record written atomically by this package, or None if absent/unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict) -> None:
    """Write a JSON record atomically."""
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
