"""Unit tests of the state DB: group commit, compare-and-set, recovery, generations, migrations."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from runner.store import StaleState, connect_ro, iter_records, open_store, read_totals
from runner.store import store as store_module
from runner.types import ErrorInfo, ErrorKind, ItemState, StoredImage, WorkItem


def item(i: int, model: str = "dall-e-2") -> WorkItem:
    return WorkItem(
        item_id=f"id{i:04d}",
        seq=i,
        model=model,
        prompt=f"p{i}",
        size="256x256",
        params={"size": "256x256", "n": 1},
        meta={"k": i},
    )


def image(item_id: str) -> StoredImage:
    return StoredImage(item_id, 0, f"images/{item_id}-0.png", "png", 256, 256, 10, "ab" * 32)


@pytest.mark.asyncio
async def test_concurrent_changes_share_commits(tmp_path: Path) -> None:
    """Many items changing at once are committed in far fewer transactions than changes."""
    async with open_store(tmp_path / "s.sqlite") as store:
        await store.sync_items((item(i) for i in range(200)), "fp1")
        before = store.commits
        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(store.mark_submitting, f"id{i:04d}", 0.0)
        assert store.commits - before < 50
        rows = await store.fetch("counts_by_state", store.gen)
    assert [(r[0], r[1]) for r in rows] == [("submitting", 200)]


@pytest.mark.asyncio
async def test_stale_transition_raises_and_leaves_others_committed(tmp_path: Path) -> None:
    """A compare-and-set from the wrong state fails alone; the rest of its batch commits."""
    async with open_store(tmp_path / "s.sqlite") as store:
        await store.sync_items([item(1), item(2)], "fp")
        await store.mark_submitting("id0001", 0.0)
        results: dict[str, BaseException | None] = {}

        async def attempt(item_id: str) -> None:
            try:
                await store.mark_polling(item_id, "task-" + item_id, None)
                results[item_id] = None
            except StaleState as exc:
                results[item_id] = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(attempt, "id0001")
            tg.start_soon(attempt, "id0002")  # still pending: not a legal move
    assert results["id0001"] is None
    assert isinstance(results["id0002"], StaleState)
    with connect_ro(tmp_path / "s.sqlite") as conn:
        states = dict(conn.execute("SELECT item_id, state FROM items").fetchall())
    assert states == {"id0001": "polling", "id0002": "pending"}


@pytest.mark.asyncio
async def test_recovery_resends_and_counts_or_holds(tmp_path: Path) -> None:
    """Items stranded in submitting are resent (counted as possible duplicates) or held."""
    db = tmp_path / "s.sqlite"
    async with open_store(db) as store:
        await store.sync_items([item(1), item(2)], "fp")
        await store.mark_submitting("id0001", 0.0)
        await store.mark_submitting("id0002", 0.0)
    async with open_store(db) as store:
        assert await store.recover_submitting(hold=False) == 2
    with connect_ro(db) as conn:
        totals = read_totals(conn)
    assert totals.by_state == {"pending": 2}
    assert totals.counters["possible_duplicate_charges"] == 2
    async with open_store(db) as store:
        await store.mark_submitting("id0001", 0.0)
        assert await store.recover_submitting(hold=True) == 1
    with connect_ro(db) as conn:
        assert read_totals(conn).by_state == {"ambiguous": 1, "pending": 1}


@pytest.mark.asyncio
async def test_done_item_reads_back_with_its_images(tmp_path: Path) -> None:
    """A done item's record carries its images, usage, cost and finish time, in manifest order."""
    db = tmp_path / "s.sqlite"
    async with open_store(db) as store:
        await store.sync_items([replace(item(2), seq=0), replace(item(1), seq=1)], "fp")
        await store.mark_submitting("id0002", 0.02)
        await store.mark_done("id0002", ItemState.SUBMITTING, [image("id0002")], {"t": 1}, 0.02)
        await store.mark_failed("id0001", ItemState.PENDING, ErrorInfo(ErrorKind.INVALID, "no"))
    with connect_ro(db) as conn:
        records = list(iter_records(conn))
    assert [r.item.item_id for r in records] == ["id0002", "id0001"]
    done, failed = records
    assert done.state is ItemState.DONE
    assert done.images == (image("id0002"),)
    assert (done.cost_usd, done.usage) == (0.02, {"t": 1})
    assert done.finished_at
    assert failed.error == ErrorInfo(ErrorKind.INVALID, "no")


@pytest.mark.asyncio
async def test_items_dropped_from_the_manifest_leave_the_current_generation(tmp_path: Path) -> None:
    """Re-syncing with a changed manifest keeps history but only counts the current items."""
    db = tmp_path / "s.sqlite"
    async with open_store(db) as store:
        assert await store.sync_items([item(1), item(2)], "fp1") == 2
        assert await store.sync_items([item(1), item(2)], "fp1") == 0
        assert await store.sync_items([item(2), item(3)], "fp2") == 1
        runnable = await store.fetch("runnable_after", store.gen, -1, 10)
    assert [r["item_id"] for r in runnable] == ["id0002", "id0003"]


@pytest.mark.asyncio
async def test_schema_is_versioned_and_reopening_is_a_no_op(tmp_path: Path) -> None:
    """The DB records its schema version, and opening it again does not migrate twice."""
    db = tmp_path / "s.sqlite"
    async with open_store(db):
        pass
    async with open_store(db):
        pass
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.asyncio
async def test_retry_backoff_survives_a_restart(tmp_path: Path) -> None:
    """An item sent back to pending keeps its not-before time and error across a reopen."""
    db = tmp_path / "s.sqlite"
    err = ErrorInfo(ErrorKind.RATE_LIMITED, "slow down", 429, "rate_limit_exceeded")
    async with open_store(db) as store:
        await store.sync_items([item(1)], "fp")
        await store.mark_submitting("id0001", 0.0)
        await store.mark_pending("id0001", ItemState.SUBMITTING, err, 12345.5, refund_attempt=True)
    async with open_store(db) as store:
        (row,) = await store.fetch("runnable_after", store.gen, -1, 10)
    assert row["not_before"] == 12345.5
    assert row["attempts"] == 0  # a 429 spends no attempt
    assert ErrorInfo.from_json(json.loads(row["error"])) == err


@pytest.mark.asyncio
async def test_items_recorded_over_many_chunks_are_all_there_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest larger than one insert chunk is recorded whole, each item once, in seq order."""
    monkeypatch.setattr(store_module, "INSERT_CHUNK", 7)  # 8 chunks, the last one short
    async with open_store(tmp_path / "s.sqlite") as store:
        assert await store.sync_items((item(i) for i in range(50)), "fp1") == 50
        rows = await store.fetch("runnable_after", store.gen, -1, 1000)
        assert [row["item_id"] for row in rows] == [item(i).item_id for i in range(50)]
        assert await store.sync_items((item(i) for i in range(60)), "fp2") == 10
        async with store.conn.execute("PRAGMA synchronous") as cursor:
            assert tuple(await cursor.fetchone() or ()) == (2,)  # FULL again after the bulk load


@pytest.mark.asyncio
async def test_a_failed_item_insert_reports_its_own_error(tmp_path: Path) -> None:
    """An item SQLite cannot store fails the sync with SQLite's error, and leaves no items."""
    bad = replace(item(1), prompt="\ud800")  # a lone surrogate cannot be encoded as UTF-8
    async with open_store(tmp_path / "s.sqlite") as store:
        with pytest.raises(UnicodeEncodeError):
            await store.sync_items([item(0), bad], "fp1")
        assert await store.count_states() == {}
