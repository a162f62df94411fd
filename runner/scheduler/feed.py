"""Feeding items to the engine: a fixed pool of workers over one source of items.

Items come in manifest order, those already in flight (a resumed run) first, then runnable ones
a page at a time, so memory stays flat however large the job. A fixed pool of workers, each
driving one item after another, bounds how many items are live at once. (A task per item cost
B1 a tenth of the event loop's time in task creation alone.)
"""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio

from runner.scheduler.engine import Engine
from runner.scheduler.live import Live
from runner.store import Store

PAGE = 500


class ItemSource:
    """Hands out the run's items one at a time, reading the DB a page ahead.

    ``limit`` caps the runnable items handed out (``run --limit``); items already in flight are
    always resumed, and nothing new is handed out once the run is stopping.
    """

    def __init__(self, store: Store, engine: Engine, limit: int | None) -> None:
        self._store, self._engine, self._limit = store, engine, limit
        self._rows: deque[Any] = deque()
        self._lock = anyio.Lock()  # one page read at a time
        self._resumed = False  # in-flight items already read
        self._last_seq = -1
        self._fed = 0
        self._exhausted = False

    async def next(self) -> Live | None:
        """The next item to drive, or None when there is none for this run."""
        if self._engine.ctl.stopping and self._fed:
            return None  # runnable items wait for the next run; in-flight ones are resumed
        while not self._rows:
            if self._exhausted or self._engine.ctl.stopping:
                return None
            async with self._lock:
                if not self._rows:
                    await self._read_page()
        return Live.from_row(self._rows.popleft())

    async def _read_page(self) -> None:
        store = self._store
        if not self._resumed:
            self._resumed = True
            self._rows.extend(await store.fetch("in_progress", store.gen))
            return
        room = PAGE if self._limit is None else min(PAGE, self._limit - self._fed)
        rows = await store.fetch("runnable_after", store.gen, self._last_seq, room) if room else []
        if not rows:
            self._exhausted = True
            return
        self._last_seq = rows[-1]["seq"]
        self._fed += len(rows)
        self._rows.extend(rows)


async def drive_all(store: Store, engine: Engine, workers: int, limit: int | None) -> None:
    """Drives every item the source hands out with ``workers`` items live at most."""
    source = ItemSource(store, engine, limit)

    async def worker() -> None:
        while (live := await source.next()) is not None:
            await engine.drive(live)

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
