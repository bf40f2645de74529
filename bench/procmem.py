"""A child process's memory as Linux reports it, for the memory benches (``bench/memory.py``,
``bench/soak.py``).

- ``VmRSS`` / ``VmHWM`` from ``/proc/PID/status`` (resident now, and its high-water mark);
  the peak of a finished child is ``ru_maxrss`` of ``wait4`` (:func:`reap`), the kernel's own
  high-water mark, so a spike between two samples is never missed.
- Per mapping, from ``/proc/PID/smaps`` (``Documentation/filesystems/proc.rst``): each
  mapping's ``Rss``, grouped as ``[heap]`` (glibc's main arena), ``[anon]`` (mmap'd memory:
  frames and other large buffers, Python's 1 MiB object arenas, other threads' malloc arenas),
  ``[stack]``, and file-backed mappings by library (the pip distribution under
  ``site-packages``, else the file name): the code and data pages of what was imported.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

_RANGE = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def status_kb(pid: int, key: str) -> int | None:
    """``VmRSS``, ``VmHWM``... of ``pid`` in kB; None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def library(path: str) -> str:
    """The group of a file-backed mapping: the distribution folder under ``site-packages``,
    else the file's name."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    return path.rsplit("/", 1)[-1]


def breakdown(pid: int) -> Counter[str]:
    """kB resident per group (see the module docstring); empty once the process is gone."""
    groups: Counter[str] = Counter()
    name = "[anon]"
    try:
        lines = Path(f"/proc/{pid}/smaps").read_text().splitlines()
    except OSError:
        return groups
    for line in lines:
        if _RANGE.match(line):
            parts = line.split(maxsplit=5)
            path = parts[5].strip() if len(parts) > 5 else "[anon]"
            name = library(path) if path.startswith("/") else path
            name = "[stack]" if name.startswith("[stack") else name
        elif line.startswith("Rss:"):
            groups[name] += int(line.split()[1])
    return groups


def summarize(groups: Counter[str], top: int = 8) -> dict[str, float]:
    """MB per group: heap, anon, stack, all files, then the ``top`` largest libraries."""
    files = {k: v for k, v in groups.items() if not k.startswith("[")}
    out = {"heap": groups["[heap]"], "anon": groups["[anon]"], "stack": groups["[stack]"],
           "files": sum(files.values())}
    out.update({f"file:{k}": v for k, v in Counter(files).most_common(top)})
    return {k: round(v / 1024, 1) for k, v in out.items()}


def reap(pid: int, block: bool) -> tuple[int, int] | None:
    """``(exit status, peak RSS kB)`` of a finished child (``wait4``), None while it runs
    (``block=False``)."""
    done, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss
