"""Waits until creating files costs what it normally does, before a file-heavy benchmark.

On ext4, creating files within a minute or two of a mass deletion costs several times more
kernel time: the inode allocator skips recently freed inodes (``recently_deleted()`` in perf).
Measured here by ``probe_us``: ~50 us per file normally; 94 us at once after 6,000 files were
deleted, ~800 us 10-40 s after, 390 us at 60 s and 240 us at 90 s. A B1 started inside that
window measured the filesystem's recovery, not the runner (the runner's system time doubled
while its user time did not move). So B1 first waits, up to a bound, for the cost to drop, and
records what it waited and the cost it started at.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROBE_FILES = 200
PROBE_BYTES = b"\x89PNG" + b"\0" * 1500  # about one tiny image
# Three times the normal cost: a settled disk measures well under it, a recovering one above.
SETTLED_US = 150.0
WAIT_LIMIT_S = 180.0
PROBE_EVERY_S = 10.0


@dataclass(frozen=True)
class Settled:
    """How long the wait took, and what creating a file cost when it ended."""

    waited_s: float
    probe_us: float
    settled: bool


def probe_us(parent: Path) -> float:
    """Microseconds to create, write, close and rename one small file, as an image write does.

    Each probe writes into a new directory that is kept: deleting the probe's files would be
    one more deletion for the next probe, and the next benchmark, to pay for.
    """
    where = parent / f"probe-{time.time_ns()}"
    where.mkdir(parents=True)
    started = time.perf_counter()
    for i in range(PROBE_FILES):
        temp = where / f".{i}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, PROBE_BYTES)
        finally:
            os.close(fd)
        os.replace(temp, where / f"{i}.png")
    return (time.perf_counter() - started) / PROBE_FILES * 1e6


def settle(
    parent: Path,
    limit_s: float = WAIT_LIMIT_S,
    every_s: float = PROBE_EVERY_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Settled:
    """Probes until a file costs under SETTLED_US, or until ``limit_s`` has gone by."""
    started = clock()
    while True:
        cost = probe_us(parent)
        waited = clock() - started
        if cost < SETTLED_US or waited + every_s > limit_s:
            return Settled(waited, cost, cost < SETTLED_US)
        sleep(every_s)
