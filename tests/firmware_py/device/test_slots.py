"""A/B slots and atomic links on a real filesystem, including a reader that never sees a
missing link while another process switches it."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from firmware_py.device import DeviceError
from firmware_py.device.slots import (
    Layout,
    check_space,
    commit,
    locked,
    remove_debris,
    swap,
    switch_link,
)


def make_slots(root: Path) -> Layout:
    layout = Layout(root)
    for name in ("a", "b"):
        layout.slot(name).mkdir(parents=True)
    return layout


def test_commit_and_swap(tmp_path: Path) -> None:
    layout = make_slots(tmp_path)
    assert layout.inactive_slot() == "a"
    commit(layout, "a")
    assert layout.linked_slot(layout.current) == "a" and not layout.previous.is_symlink()
    assert layout.inactive_slot() == "b"
    commit(layout, "b")
    assert (layout.linked_slot(layout.current), layout.linked_slot(layout.previous)) == \
        ("b", "a")
    assert swap(layout) == ("a", "b")
    assert os.readlink(layout.current) == "slots/a"  # relative: a mounted rootfs resolves


def test_swap_needs_a_previous(tmp_path: Path) -> None:
    layout = make_slots(tmp_path)
    commit(layout, "a")
    with pytest.raises(DeviceError, match="no previous bundle"):
        swap(layout)


def test_foreign_or_dangling_links_are_not_slots(tmp_path: Path) -> None:
    layout = make_slots(tmp_path)
    layout.current.symlink_to("/etc")
    assert layout.linked_slot(layout.current) is None
    layout.previous.symlink_to("slots/c")
    assert layout.linked_slot(layout.previous) is None


def _flip(root: str, started, switches: int) -> None:
    layout = Layout(Path(root))
    started.set()
    for i in range(switches):
        switch_link(layout.current, "ab"[i % 2])


def test_a_reader_always_finds_the_link_while_it_is_switched(tmp_path: Path) -> None:
    layout = make_slots(tmp_path)
    commit(layout, "a")
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    writer = ctx.Process(target=_flip, args=(str(tmp_path), started, 300))
    writer.start()
    assert started.wait(30)
    seen = set()
    while writer.is_alive():
        seen.add(os.readlink(layout.current))  # raises if the link were ever missing
    writer.join()
    assert writer.exitcode == 0
    assert seen <= {"slots/a", "slots/b"} and len(seen) == 2


def test_debris_of_an_interrupted_install_is_removed(tmp_path: Path) -> None:
    layout = make_slots(tmp_path)
    commit(layout, "a")
    os.symlink("slots/b", tmp_path / ".current.dead.tmp")
    (layout.slots / ".b.incoming").mkdir()
    remove_debris(layout)
    assert not (tmp_path / ".current.dead.tmp").is_symlink()
    assert not (layout.slots / ".b.incoming").exists()
    assert layout.linked_slot(layout.current) == "a"


def test_space_check_needs_room_beside_both_slots(tmp_path: Path) -> None:
    """Both slots stay until the staged copy passed, so nothing they hold counts as free."""
    layout = make_slots(tmp_path)
    check_space(layout, needed=1 << 20)
    total = shutil.disk_usage(tmp_path).total  # more than any disk has free, whatever else runs
    with pytest.raises(DeviceError, match="not enough space.*nothing was changed"):
        check_space(layout, needed=total + 1)


def _hold(root: str, ready, release) -> None:
    with locked(Layout(Path(root))):
        ready.set()
        release.wait(10)


def test_one_install_at_a_time(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), ready, release))
    holder.start()
    assert ready.wait(10)
    try:
        with pytest.raises(DeviceError, match="another install"), \
                locked(Layout(tmp_path), timeout=0.3):
            pass
    finally:
        release.set()
        holder.join()
    with locked(Layout(tmp_path), timeout=1):  # free again once the holder is gone
        pass
