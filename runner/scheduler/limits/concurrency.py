"""AIMD over generation requests in flight: a 429 halves it, successes earn it back."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass

import anyio

from runner.scheduler.limits._common import Clock

# -- slots ---------------------------------------------------------------------------------


class _Slot:
    """A class, not an ``@asynccontextmanager``: an async generator per send cost B1 ~5%."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Slots) -> None:
        self._owner = owner

    async def __aenter__(self) -> None:
        await self._owner.acquire()

    async def __aexit__(self, *_exc: object) -> None:
        self._owner.release()


@dataclass(eq=False, slots=True)
class _Waiter:
    """One caller waiting for a slot; ``granted`` once a slot was handed to it.

    It waits on a bare asyncio future: under load every send waits here, and an ``anyio.Event``
    per wait cost several times more (B1: 5% of the event loop). A future cancelled by a timeout
    or a cancel scope is replaced by a new one before the next wait.
    """

    wakeup: asyncio.Future[None]
    granted: bool = False

    def wake(self) -> None:
        if not self.wakeup.done():
            self.wakeup.set_result(None)


class Slots:
    """A FIFO semaphore over ``limit`` slots that costs nothing when a slot is free.

    Unlike anyio's CapacityLimiter, taking a free slot does not yield to the event loop (a
    checkpoint per acquire is a loop pass per item per limiter), and a freed slot is handed
    straight to the first waiter, so 200 slots freed at once refill in one pass of the event
    loop. (A chain where each waiter let in the next one passed one per loop pass: B2 lost
    0.15 s of every cycle to it.)
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit!r}")
        self._limit = limit
        self._in_flight = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def slot(self) -> _Slot:
        """``async with slots.slot():`` holds one slot for the body."""
        return _Slot(self)

    async def acquire(self) -> None:
        """Takes a slot, waiting for one if none is free; pair it with :meth:`release`."""
        if not self._waiters and self._free():
            self._in_flight += 1
        else:
            await self._wait_for_grant()

    def release(self) -> None:
        self._in_flight -= 1
        self._grant()

    def _blocked_for(self) -> float:
        """Seconds during which no slot is granted even if one is free (none here)."""
        return 0.0

    def _free(self) -> bool:
        return self._in_flight < self._limit and self._blocked_for() <= 0

    def _grant(self) -> None:
        while self._waiters and self._free():
            waiter = self._waiters.popleft()
            waiter.granted = True
            self._in_flight += 1
            waiter.wake()

    async def _wait_for_grant(self) -> None:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future())
        self._waiters.append(waiter)
        try:
            while True:
                if blocked := self._blocked_for():
                    with anyio.move_on_after(blocked):
                        await waiter.wakeup
                else:  # no timeout, no cancel scope: this is every send's path under load
                    await waiter.wakeup
                self._grant()  # a pause may have just ended
                if waiter.granted:
                    return
                waiter.wakeup = loop.create_future()  # woken by a pause or a resize: wait again
        except BaseException:
            if waiter.granted:  # granted, then cancelled before using it: pass it on
                self._in_flight -= 1
                self._grant()
            else:
                self._waiters.remove(waiter)
            raise

    def _wake_waiters(self) -> None:
        for waiter in self._waiters:
            waiter.wake()  # each re-waits with the new block as its timeout


# -- adaptive concurrency -------------------------------------------------------------------


class AdaptiveConcurrency(Slots):
    """AIMD over generation requests in flight, between 1 and ``maximum``.

    ``maximum`` is the manifest's concurrency. A 429 halves the limit (at most once per
    ``cooldown_s``, so a burst of 429s from the same moment counts once) and blocks new sends
    until its Retry-After (else ``default_pause_s``) has passed; ``success()`` adds 1 to the
    limit every ``limit`` successes (one step per round trip), back up to ``maximum``. This
    keeps the opening burst of an unconfigured run short and copes with gateways that limit
    concurrent requests; spacing requests under a per-minute limit is the :class:`Pacer`'s job.
    """

    def __init__(
        self,
        maximum: int,
        *,
        cooldown_s: float = 1.0,
        default_pause_s: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if maximum < 1:
            raise ValueError(f"maximum must be at least 1, not {maximum!r}")
        super().__init__(maximum)
        self._maximum = maximum
        self._successes = 0
        self._cooldown_s = cooldown_s
        self._default_pause_s = default_pause_s
        self._clock = clock
        self._last_cut = -math.inf
        self._paused_until = -math.inf

    @property
    def maximum(self) -> int:
        return self._maximum

    @property
    def paused_for(self) -> float:
        """Seconds until new sends may leave again (0.0 when not paused)."""
        return max(0.0, self._paused_until - self._clock())

    def _blocked_for(self) -> float:
        return self.paused_for

    def rate_limited(self, retry_after_s: float | None) -> None:
        """A 429: halve the limit (once per cooldown) and pause new sends."""
        now = self._clock()
        self.pause(self._default_pause_s if retry_after_s is None else retry_after_s)
        if now - self._last_cut >= self._cooldown_s:
            self._last_cut = now
            self._limit = max(1, self._limit // 2)
            self._successes = 0

    def pause(self, seconds: float) -> None:
        """Blocks new sends for ``seconds`` from now (a longer pause already set is kept)."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))
        self._wake_waiters()

    def success(self) -> None:
        """One answer that was not a 429: every ``limit`` of them raise the limit by one."""
        self._successes += 1
        if self._successes < self._limit:
            return
        self._successes = 0
        if self._limit < self._maximum:
            self._limit += 1
            self._grant()
