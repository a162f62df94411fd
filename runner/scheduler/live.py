"""The in-memory side of a run: each live item's state, and the run's shared control.

The DB is the truth; a :class:`Live` mirrors one row while its coroutine drives it, so the hot
path never reads back what it just wrote. :class:`RunControl` holds what every item consults:
whether the run is stopping, the budget, the counts for progress.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from runner.store.readers import work_item
from runner.types import ErrorInfo, ImageRef, ItemState, JobSettings, WorkItem


class Pricing(Protocol):
    """What the run needs of the manifest's pricer (kept structural to avoid an import cycle)."""

    def estimate(self, item: WorkItem) -> float | None: ...

    def actual(
        self, item: WorkItem, usage: Mapping[str, Any] | None, images: int
    ) -> float | None: ...


@dataclass(slots=True)
class Live:
    """One item being driven: a mirror of its DB row."""

    item: WorkItem
    state: ItemState
    attempts: int = 0
    not_before: float | None = None
    task_id: str | None = None
    poll_url: str | None = None
    task_started_at: float | None = None
    refs: tuple[ImageRef, ...] = ()
    usage: Mapping[str, Any] | None = None
    reserved: float = 0.0

    @classmethod
    def from_row(cls, row: Any) -> Live:
        refs = json.loads(row["image_refs"]) if row["image_refs"] else []
        return cls(
            item=work_item(row),
            state=ItemState(row["state"]),
            attempts=row["attempts"],
            not_before=row["not_before"],
            task_id=row["task_id"],
            poll_url=row["poll_url"],
            task_started_at=row["task_started_at"],
            refs=tuple(ImageRef(url=u, revised_prompt=rp) for u, rp in refs),
            usage=json.loads(row["usage"]) if row["usage"] else None,
            reserved=row["reserved_usd"] or 0.0,
        )


@dataclass(slots=True)
class Tally:
    """Counts this run has seen, for progress and the exit code."""

    done: int = 0
    failed: int = 0
    images: int = 0


@dataclass
class RunControl:
    """What every item of a run consults: stop flags, budget, and the settings."""

    settings: JobSettings
    pricer: Pricing
    hold_ambiguous: bool = False
    spent: float = 0.0  # settled cost of the whole job so far (all runs)
    reserved: float = 0.0  # estimated cost of requests that may still be charged
    tally: Tally = field(default_factory=Tally)
    stopping: bool = False
    hard_stop: bool = False
    stop_signal: int | None = None
    fatal_error: ErrorInfo | None = None
    budget_stopped: bool = False
    _stop_event: anyio.Event = field(default_factory=anyio.Event)
    _waits: set[anyio.CancelScope] = field(default_factory=set)

    @property
    def sends_halted(self) -> bool:
        """A signal or a refused account: not even items already admitted are sent.

        A budget stop admits nothing new, but the items it admitted before (their intent is
        recorded, their cost reserved within the budget) are still sent.
        """
        return self.stop_signal is not None or self.fatal_error is not None

    async def unless_halted(self, wait: Callable[[int], Awaitable[None]], arg: int) -> bool:
        """Awaits ``wait(arg)`` unless sends are halted first; True if it finished."""
        if self.sends_halted:
            return False
        with anyio.CancelScope() as scope:
            self._waits.add(scope)
            try:
                await wait(arg)
            finally:
                self._waits.discard(scope)
        return not scope.cancelled_caught

    async def sleep(self, seconds: float) -> None:
        """Sleeps, but wakes at once when the run starts stopping."""
        with anyio.move_on_after(max(0.0, seconds)):
            await self._stop_event.wait()

    def request_stop(self) -> None:
        """Nothing new starts and sleepers wake; once sends are halted, waits to send end too."""
        self.stopping = True
        self._stop_event.set()
        if self.sends_halted:
            for scope in self._waits:
                scope.cancel()

    def stop_for_signal(self, signum: int) -> None:
        self.stop_signal = self.stop_signal or signum
        self.request_stop()

    def fatal(self, info: ErrorInfo) -> None:
        """The provider refused the account: no new sends; the first refusal is the one shown."""
        self.fatal_error = self.fatal_error or info
        self.request_stop()

    async def admit(self, live: Live) -> bool:
        """Reserves the item's estimated cost; refuses (and stops the run) past the budget."""
        estimate = self.pricer.estimate(live.item) or 0.0
        budget = self.settings.budget_usd
        if budget is not None and self.spent + self.reserved + estimate > budget + 1e-9:
            self.budget_stopped = True
            self.request_stop()
            return False
        self.reserved += estimate
        live.reserved = estimate
        return True

    def release(self, live: Live) -> None:
        self.reserved = max(0.0, self.reserved - live.reserved)
        live.reserved = 0.0

    def on_done(self, live: Live, cost: float | None, images: int) -> None:
        self.release(live)
        self.spent += cost or 0.0
        self.tally.done += 1
        self.tally.images += images

    def on_failed(self, live: Live) -> None:
        self.release(live)
        self.tally.failed += 1

    @property
    def signal_exit_code(self) -> int | None:
        if self.stop_signal is None:
            return None
        return 130 if self.stop_signal == signal.SIGINT else 143
