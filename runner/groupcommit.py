"""Group commit: many callers' work made durable by one flush, whoever is waiting at the time.

Both the state DB (one transaction, one fsync) and the image files (one syncfs) are durable
only at a cost per flush, not per caller, so each is fronted by one of these: callers queue their
work and wait, and one task flushes whatever is queued each time it is free, so a batch grows
while the previous one is being flushed. Every caller queued together is released by one event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Generic, Self, TypeVar

import anyio

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Queues work for ``flush``, which takes a whole batch and records outcomes on its items.

    ``flush`` runs shielded from cancellation: the callers of a batch wait on it even while the
    run is being cancelled. ``async with commits.running():`` runs the writer task for a block;
    or run :meth:`run` in a task group and call :meth:`close`, which lets it drain and end.
    """

    def __init__(self, flush: Callable[[list[T]], Awaitable[None]]) -> None:
        self._flush = flush
        self._queue: list[T] = []
        self._wakeup = anyio.Event()
        self._batch_done = anyio.Event()  # the event of the batch being queued
        self.closing = False

    async def submit(self, item: T) -> None:
        """Queues ``item`` and returns once the batch it joined has been flushed."""
        if self.closing:
            raise RuntimeError("closed: nothing more can be committed")
        self._queue.append(item)
        self._wakeup.set()
        await self._batch_done.wait()

    async def run(self) -> None:
        """Flushes batch after batch until closed and nothing is left queued."""
        while True:
            await self._wakeup.wait()
            self._wakeup = anyio.Event()
            batch, self._queue = self._queue, []
            done, self._batch_done = self._batch_done, anyio.Event()
            try:
                if batch:
                    with anyio.CancelScope(shield=True):
                        await self._flush(batch)
            finally:
                done.set()
            if self.closing and not self._queue:
                return

    def close(self) -> None:
        self.closing = True
        self._wakeup.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Self]:
        """Runs the writer task for the duration of the block; leaving it drains the queue."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.run)
            try:
                yield self
            finally:
                self.close()
