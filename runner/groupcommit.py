"""Group commit: many callers' work made durable by one flush, whoever is waiting at the time.

Both the state DB (one transaction, one fsync) and the image files (one syncfs) are durable
only at a cost per flush, not per caller, so each is fronted by one of these: callers queue their
work and wait, and one task flushes whatever is queued each time it is free, so a batch grows
while the previous one is being flushed. Every caller of a batch is released when its flush ends.
"""

from __future__ import annotations

import asyncio
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

    Callers wait on asyncio futures, not events: every item of a run passes here two or three
    times, and an ``anyio.Event`` (a backend lookup, an ``asyncio.Event`` bound to the loop under
    a lock, a future, a removal from its waiter list) cost B1 a tenth of its event loop. A
    cancelled caller only cancels its own future; its item is still flushed with its batch.
    """

    def __init__(self, flush: Callable[[list[T]], Awaitable[None]]) -> None:
        self._flush = flush
        self._queue: list[T] = []
        self._waiters: list[asyncio.Future[None]] = []  # one per queued item, same order
        self._wakeup: asyncio.Future[None] | None = None  # set while the writer is parked
        self.closing = False

    async def submit(self, item: T) -> None:
        """Queues ``item`` and returns once the batch it joined has been flushed."""
        if self.closing:
            raise RuntimeError("closed: nothing more can be committed")
        done = asyncio.get_running_loop().create_future()
        self._queue.append(item)
        self._waiters.append(done)
        self._wake()
        await done

    async def run(self) -> None:
        """Flushes batch after batch until closed and nothing is left queued."""
        while True:
            if not self._queue and not self.closing:
                self._wakeup = asyncio.get_running_loop().create_future()
                try:
                    await self._wakeup
                finally:
                    self._wakeup = None
            batch, self._queue = self._queue, []
            waiters, self._waiters = self._waiters, []
            try:
                if batch:
                    with anyio.CancelScope(shield=True):
                        await self._flush(batch)
            finally:
                for done in waiters:
                    if not done.done():  # a caller cancelled while it waited
                        done.set_result(None)
            if self.closing and not self._queue:
                return

    def close(self) -> None:
        self.closing = True
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Self]:
        """Runs the writer task for the duration of the block; leaving it drains the queue."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.run)
            try:
                yield self
            finally:
                self.close()
