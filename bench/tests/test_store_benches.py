"""B5's two ways of committing and B4's resume set-up, on real state DBs."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import anyio
import pytest

from bench.b4_scale import mark_done
from bench.b5_checkpoint import grouped, measure, one_by_one, work_items
from bench.harness import BenchError
from runner.store import open_store


def test_one_by_one_commits_every_change_and_grouping_shares_commits(tmp_path: Path) -> None:
    """50 items: 100 commits one per change; grouped, concurrent changes share fewer commits."""
    items = work_items(50)
    single = anyio.run(measure, tmp_path / "single.sqlite", items, one_by_one)
    group = anyio.run(measure, tmp_path / "group.sqlite", items, grouped)
    assert single.commits == 100
    assert 0 < group.commits < single.commits
    assert group.us_per_item > 0


async def _store_with_items(db: Path, count: int) -> None:
    async with open_store(db) as store:
        await store.sync_items(work_items(count), fingerprint="fp")


def test_mark_done_marks_items_in_manifest_order(tmp_path: Path) -> None:
    """The first N items by seq become done; the rest stay pending."""
    db = tmp_path / "state.sqlite"
    anyio.run(_store_with_items, db, 20)
    assert mark_done(db, 15) == 15
    with closing(sqlite3.connect(db)) as conn:
        pending = [r[0] for r in conn.execute("SELECT seq FROM items WHERE state = 'pending'")]
    assert sorted(pending) == list(range(15, 20))


def test_mark_done_requires_a_recorded_fingerprint(tmp_path: Path) -> None:
    """Without the manifest's fingerprint the resume would re-sync, so it is refused."""
    db = tmp_path / "state.sqlite"
    anyio.run(_store_with_items, db, 3)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DELETE FROM meta WHERE key = 'fingerprint'")
    with pytest.raises(BenchError, match="fingerprint"):
        mark_done(db, 2)
