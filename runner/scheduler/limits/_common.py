"""Shared pieces of the pacing components: the clock type, a wake-up signal, FIFO turns."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio

Clock = Callable[[], float]

BURST_S = 1.0  # the contract: evenly spaced, burst at most one second's worth
_EPS = 1e-9  # float slack: a timer may fire a clock tick early


class _Signal:
    """Wakes every waiter at once so each rechecks its own condition (a condition variable)."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None  # created lazily: needs a running event loop

    async def wait(self, at_most_s: float = math.inf) -> None:
        """Returns on the next notify() or after ``at_most_s`` seconds, whichever is first."""
        if self._event is None:
            self._event = anyio.Event()
        event = self._event
        with anyio.move_on_after(max(0.0, at_most_s)):
            await event.wait()

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None


@asynccontextmanager
async def _turn(queue: deque[anyio.Event]) -> AsyncIterator[None]:
    """Holds the head of ``queue`` for the body, in arrival order, so no caller starves.

    A caller cancelled while waiting or while at the head passes its turn on.
    """
    me = anyio.Event()
    queue.append(me)
    try:
        if queue[0] is not me:
            await me.wait()
        yield
    finally:
        was_head = queue[0] is me
        queue.remove(me)
        if was_head and queue:
            queue[0].set()


def _positive(name: str, value: float) -> float:
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return float(value)
