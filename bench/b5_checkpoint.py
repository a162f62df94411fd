"""B5 checkpoint cost: what durability costs per item, with and without group commit.

Uses the Store itself (runner.store.open_store, synchronous=FULL: every commit is an fsync).
Each item makes the two transitions a sync item makes in a run: mark_submitting, then mark_done
with its image row. Grouped: 64 items at a time run concurrently (B1's concurrency), so the
store's writer folds whatever is queued into one transaction. One per change: the same
transitions awaited one after another, so each is a transaction of its own. Each mode gets a
fresh DB; the figure is the wall time of the transitions over the item count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio

from bench.harness import BenchError, Context
from bench.results import BenchResult, Figure
from runner.store import Store, open_store
from runner.types import ItemState, StoredImage, WorkItem

TITLE = "checkpoint cost"
ITEMS, QUICK_ITEMS = 5000, 1000
GROUP_CONCURRENCY = 64
PRICE_USD = 0.016

Drive = Callable[[Store, Sequence[WorkItem]], Awaitable[None]]


@dataclass(frozen=True)
class Measured:
    elapsed_s: float
    commits: int
    items: int

    @property
    def us_per_item(self) -> float:
        return self.elapsed_s / self.items * 1e6

    def to_json(self) -> dict[str, float]:
        return {
            "elapsed_s": self.elapsed_s,
            "commits": self.commits,
            "us_per_item": self.us_per_item,
        }


def work_items(count: int) -> list[WorkItem]:
    return [
        WorkItem(
            item_id=f"b5-{i:06d}",
            seq=i,
            model="dall-e-2",
            prompt=f"checkpoint item {i}",
            size="256x256",
            params={"size": "256x256"},
        )
        for i in range(count)
    ]


def _image(item_id: str) -> StoredImage:
    return StoredImage(item_id, 0, f"images/{item_id}-0.png", "png", 256, 256, 1000, "0" * 64)


async def transitions(store: Store, item: WorkItem) -> None:
    """The two commits of a sync item's life in a run."""
    await store.mark_submitting(item.item_id, PRICE_USD)
    await store.mark_done(
        item.item_id, ItemState.SUBMITTING, [_image(item.item_id)], None, PRICE_USD
    )


async def grouped(store: Store, items: Sequence[WorkItem]) -> None:
    limiter = anyio.CapacityLimiter(GROUP_CONCURRENCY)

    async def one(item: WorkItem) -> None:
        async with limiter:
            await transitions(store, item)

    async with anyio.create_task_group() as tg:
        for item in items:
            tg.start_soon(one, item)


async def one_by_one(store: Store, items: Sequence[WorkItem]) -> None:
    for item in items:
        await transitions(store, item)


async def measure(db: Path, items: Sequence[WorkItem], drive: Drive) -> Measured:
    """Times ``drive`` over ``items`` in a fresh store, then checks every item ended done."""
    async with open_store(db) as store:
        await store.sync_items(items, fingerprint="b5")
        commits = store.commits
        started = time.perf_counter()
        await drive(store, items)
        elapsed = time.perf_counter() - started
        measured = Measured(elapsed, store.commits - commits, len(items))
        states = await store.count_states()
    if states != {"done": len(items)}:
        raise BenchError(f"expected every item done, the store says {states}")
    return measured


def run(ctx: Context) -> BenchResult:
    items = work_items(QUICK_ITEMS if ctx.quick else ITEMS)
    workdir = ctx.dir("b5")
    group = anyio.run(measure, workdir / "grouped.sqlite", items, grouped)
    single = anyio.run(measure, workdir / "single.sqlite", items, one_by_one)
    return BenchResult(
        key="B5",
        title=TITLE,
        figures=(
            Figure("group commit (64 concurrent items)", group.us_per_item, "us/item"),
            Figure("one commit per change", single.us_per_item, "us/item"),
            Figure("one-per-change / group commit", single.us_per_item / group.us_per_item, "x"),
        ),
        details={
            "items": len(items),
            "transitions_per_item": 2,
            "group_concurrency": GROUP_CONCURRENCY,
            "synchronous": "FULL",
            "grouped": group.to_json(),
            "one_per_change": single.to_json(),
        },
    )
