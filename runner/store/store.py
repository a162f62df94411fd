"""The checkpoint: every state change of every item, committed before its next side effect.

Writes go through one writer task that groups whatever is queued into a single
``BEGIN IMMEDIATE`` transaction (group commit): with ``synchronous=FULL`` each commit is an fsync,
so sharing it across many concurrent items is what makes durability cheap. A caller's ``await``
returns only once its change is on disk, so "record, then act" holds for every effect.

Each state change is a compare-and-set (``UPDATE ... WHERE state = ?``). A change whose row was
not in the expected state raises :class:`StaleState` and leaves the DB as it was, since nothing
else should be moving an item while this process holds the output directory's lock.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite
import anyio

from runner.groupcommit import GroupCommit
from runner.store.queries import Q
from runner.store.schema import MIGRATIONS
from runner.types import ErrorInfo, ErrorKind, ImageRef, ItemState, StoredImage, WorkItem

T = TypeVar("T")

# Rows per transaction when recording a manifest, each chunk sorted by item_id: ids are hashes,
# so unsorted rows land all over the primary key's B-tree. 1M items: 15 s with unsorted chunks of
# 5,000, 7 s with sorted chunks of 50,000 (~15 MB of rows at a time).
INSERT_CHUNK = 50_000


class SchemaTooNew(Exception):
    """The state DB was written by a newer runner; an older one must not guess at it."""


class StaleState(Exception):
    """A compare-and-set found the item in another state than the one expected."""


@dataclass(slots=True)
class _Stmt:
    sql: str
    params: tuple[Any, ...]
    expect: int | None  # rows it must change (CAS); None: any


@dataclass(slots=True)
class _Unit:
    """Statements that commit together or not at all; one caller awaits its batch."""

    stmts: list[_Stmt]
    error: BaseException | None = None


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# Built once: json.dumps() with options builds an encoder per call, twice per item recorded.
_ENCODE = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def dumps(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)


def _expected(stmts: list[_Stmt]) -> int | None:
    """Rows the statements must change in all, or None when any may change none."""
    checked = [s.expect for s in stmts if s.expect is not None]
    return sum(checked) if len(checked) == len(stmts) else None


async def in_db_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """``fn(sqlite3_connection, *args)`` on ``conn``'s own thread, in one hop from the loop.

    aiosqlite has no public call for this; ``_execute`` is what each of its own methods uses.
    It matters on the hot path: every await of a busy event loop waits its turn behind all the
    ready tasks (milliseconds), and a transaction of four awaits kept its batch waiting for each.
    """
    run = cast(Callable[..., Awaitable[T]], conn._execute)
    return await run(fn, conn._conn, *args)


def _run_grouped(
    db: sqlite3.Connection, plan: list[tuple[str, list[tuple[Any, ...]], int | None]]
) -> bool:
    """In the connection's thread: one transaction, rolled back at the first CAS miss."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for sql, params, expected in plan:
            cursor = db.executemany(sql, params)
            if expected is not None and cursor.rowcount != expected:
                db.execute("ROLLBACK")
                return False
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return True


def _stmt(name: str, *params: Any, expect: int | None = 1) -> _Stmt:
    return _Stmt(Q[name], params, expect)


class Store:
    """Named, durable state transitions over one aiosqlite connection."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, synchronous: str = "FULL") -> None:
        self.conn = conn
        self.path = path
        self._synchronous = synchronous
        self._commits = GroupCommit(self._commit_batch)
        self.commits = 0  # transactions committed (for benchmarks)
        self.gen = 0  # the manifest generation whose items are current
        self.on_change: Callable[[str, ItemState], None] | None = None  # after each commit

    # -- the group-commit writer -------------------------------------------------------------

    async def _apply(self, *stmts: _Stmt) -> None:
        unit = _Unit(list(stmts))
        await self._commits.submit(unit)
        if unit.error is not None:
            raise unit.error

    async def _move(self, item_id: str, state: ItemState, *stmts: _Stmt) -> None:
        """Commits one item's transition, then tells the listener (the run log), if any."""
        await self._apply(*stmts)
        if self.on_change is not None:
            self.on_change(item_id, state)

    async def _commit_batch(self, batch: list[_Unit]) -> None:
        try:
            if not await self._try_grouped(batch):
                await self._one_by_one(batch)
            self.commits += 1
        except BaseException as exc:
            await self._rollback()
            for unit in batch:
                unit.error = unit.error or exc
            if not isinstance(exc, Exception):
                raise

    async def _try_grouped(self, batch: list[_Unit]) -> bool:
        """Runs the batch as one executemany per statement; False if any CAS missed.

        The whole transaction is one hop to the connection's thread: each await on the event
        loop waits its turn behind every ready task (milliseconds when busy), and the batch's
        items wait for all of them.
        """
        groups: dict[str, list[_Stmt]] = defaultdict(list)
        for unit in batch:
            for stmt in unit.stmts:
                groups[stmt.sql].append(stmt)
        plan = [(sql, [s.params for s in stmts], _expected(stmts)) for sql, stmts in groups.items()]
        return await in_db_thread(self.conn, _run_grouped, plan)

    async def _one_by_one(self, batch: list[_Unit]) -> None:
        """The slow path after a CAS miss: a savepoint per unit, so only the stale one fails."""
        await self.conn.execute("BEGIN IMMEDIATE")
        for unit in batch:
            await self.conn.execute("SAVEPOINT unit")
            for stmt in unit.stmts:
                cur = await self.conn.execute(stmt.sql, stmt.params)
                if stmt.expect is not None and cur.rowcount != stmt.expect:
                    unit.error = StaleState(f"item not in the expected state: {stmt.params[-2:]}")
                    await self.conn.execute("ROLLBACK TO unit")
                    break
            await self.conn.execute("RELEASE unit")
        await self.conn.execute("COMMIT")

    async def _rollback(self) -> None:
        if self.conn.in_transaction:
            await self.conn.execute("ROLLBACK")

    # -- items in, before a run --------------------------------------------------------------

    async def sync_items(self, items: Iterable[WorkItem], fingerprint: str) -> int:
        """Records the manifest's items under a new generation; returns how many are new.

        Skipped when the manifest's fingerprint is the one already recorded, so resuming a
        million-item job does not re-expand it. Streams in chunks: the items never sit in memory.
        """
        if await self.get_meta("fingerprint") == fingerprint:
            return 0
        gen = int(await self.get_meta("gen") or 0) + 1
        before = await self._count_items()
        # Until the fingerprint below is committed (synchronous=FULL again), a crash or power
        # loss only means the next run records the items again: the bulk load need not fsync
        # every chunk. WAL with synchronous=NORMAL still never corrupts the DB.
        await self.conn.execute("PRAGMA synchronous = NORMAL")
        try:
            await self._upsert_all(items, gen)
        except BaseExceptionGroup as group:  # the chunk pipeline's task group wraps the error
            raise group.exceptions[0] if len(group.exceptions) == 1 else group from None
        finally:
            with anyio.CancelScope(shield=True):
                await self.conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        await self.set_meta("gen", str(gen))
        await self.set_meta("fingerprint", fingerprint)
        self.gen = gen
        return await self._count_items() - before

    async def _upsert_all(self, items: Iterable[WorkItem], gen: int) -> None:
        """Builds each chunk of rows while the previous one is being inserted (in aiosqlite's
        thread, which releases the GIL inside SQLite). Recording 1M items: 31 s before this, the
        sorted chunks and the page cache; 16 s after (B4's manifest)."""
        created = now_iso()
        rows = (_item_row(item, created, gen) for item in items)
        async with anyio.create_task_group() as tg:
            inserting = anyio.Event()
            inserting.set()
            while chunk := sorted(itertools.islice(rows, INSERT_CHUNK), key=_row_id):
                await inserting.wait()
                inserting = anyio.Event()
                tg.start_soon(self._upsert_chunk, chunk, inserting)

    async def _upsert_chunk(self, rows: list[tuple[Any, ...]], done: anyio.Event) -> None:
        try:
            await self._insert_chunk(rows)
        finally:
            done.set()

    async def _insert_chunk(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                await self.conn.executemany(Q["upsert_item"], rows)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self._rollback()  # or restoring synchronous would fail, hiding this
                raise
            await self.conn.execute("COMMIT")

    async def _count_items(self) -> int:
        rows = await self.fetch("count_items")
        return int(rows[0][0])

    # -- state transitions (each awaits its commit) ------------------------------------------

    async def mark_submitting(self, item_id: str, reserved_usd: float) -> None:
        await self._move(
            item_id,
            ItemState.SUBMITTING,
            _stmt("mark_submitting", reserved_usd, time.time(), item_id),
        )

    async def mark_polling(self, item_id: str, task_id: str, poll_url: str | None) -> None:
        t = time.time()
        await self._move(
            item_id, ItemState.POLLING, _stmt("mark_polling", task_id, poll_url, t, t, item_id)
        )

    async def mark_downloading(
        self,
        item_id: str,
        from_state: ItemState,
        refs: Sequence[ImageRef],
        usage: Mapping[str, Any] | None,
    ) -> None:
        encoded = dumps([[r.url, r.revised_prompt] for r in refs])
        await self._move(
            item_id,
            ItemState.DOWNLOADING,
            _stmt(
                "mark_downloading", encoded, dumps(usage), time.time(), item_id, from_state.value
            ),
        )

    async def mark_done(
        self,
        item_id: str,
        from_state: ItemState,
        images: Sequence[StoredImage],
        usage: Mapping[str, Any] | None,
        cost_usd: float | None,
    ) -> None:
        done = _stmt(
            "mark_done", dumps(usage), cost_usd, now_iso(), time.time(), item_id, from_state.value
        )
        images_in = [_image_stmt(i) for i in images]
        await self._move(item_id, ItemState.DONE, *images_in, done)

    async def mark_pending(
        self,
        item_id: str,
        from_state: ItemState,
        error: ErrorInfo | None,
        not_before: float | None = None,
        refund_attempt: bool = False,
    ) -> None:
        err = dumps(error.to_json()) if error else None
        params = (int(refund_attempt), not_before, err, time.time(), item_id, from_state.value)
        await self._move(item_id, ItemState.PENDING, _stmt("mark_pending", *params))

    async def mark_failed(self, item_id: str, from_state: ItemState, error: ErrorInfo) -> None:
        t = time.time()
        err = dumps(error.to_json())
        await self._move(
            item_id,
            ItemState.FAILED,
            _stmt("mark_failed", err, now_iso(), t, item_id, from_state.value),
        )

    async def mark_ambiguous(self, item_id: str, from_state: ItemState, error: ErrorInfo) -> None:
        err = dumps(error.to_json())
        stmt = _stmt("mark_ambiguous", err, time.time(), item_id, from_state.value)
        await self._move(item_id, ItemState.AMBIGUOUS, stmt)

    async def bump(self, counters: Mapping[str, float]) -> None:
        stmts = [_stmt("bump_counter", k, v, expect=None) for k, v in counters.items() if v]
        if stmts:
            await self._apply(*stmts)

    async def set_meta(self, key: str, value: str) -> None:
        await self._apply(_stmt("set_meta", key, value, expect=None))

    # -- start-of-run recovery and reads -----------------------------------------------------

    async def recover_submitting(self, hold: bool) -> int:
        """Settles items whose request may have left before a crash: resend (counted) or hold."""
        rows = await self.fetch("stranded_submitting")
        ids = [row[0] for row in rows]
        if not ids:
            return 0
        # Each may have been charged: the budget must count it as spent, whatever happens next.
        maybe_spent = sum(row[1] for row in rows)
        err = ErrorInfo(ErrorKind.AMBIGUOUS, "interrupted after the request may have been sent")
        query = "recover_hold" if hold else "recover_resend"
        t, encoded = time.time(), dumps(err.to_json())
        stmts = [_stmt(query, encoded, t, item_id) for item_id in ids]
        resent = 0 if hold else len(ids)
        counted = _stmt("bump_counter", "possible_duplicate_charges", resent, expect=None)
        cost = _stmt("bump_counter", "possible_duplicate_cost_usd", maybe_spent, expect=None)
        await self._apply(*stmts, counted, cost)
        return len(ids)

    async def start_run(self, started_at: str, pid: int) -> int:
        await self.conn.execute("BEGIN IMMEDIATE")
        cur = await self.conn.execute(Q["insert_run"], (started_at, pid))
        await self.conn.execute("COMMIT")
        return int(cur.lastrowid or 0)

    async def finish_run(self, run_id: int, finished_at: str, exit_code: int) -> None:
        await self._apply(_stmt("finish_run", finished_at, exit_code, run_id))

    async def count_states(self) -> dict[str, int]:
        """Items of the current manifest by state."""
        return {r[0]: int(r[1]) for r in await self.fetch("counts_by_state", self.gen)}

    async def retry(self, which: str, item_id: str | None = None) -> int:
        """Puts failed or ambiguous items (or one item) back to pending; returns how many."""
        t = time.time()
        if which == "item":
            stmt = _stmt("retry_item", t, item_id, expect=None)
        else:
            stmt = _stmt(f"retry_{which}", t, self.gen, expect=None)
        before = self.conn.total_changes
        await self._apply(stmt)
        changed = self.conn.total_changes - before
        if which == "ambiguous" and changed:
            # Sending a held item again may pay for it twice: the report must say so.
            await self.bump({"possible_duplicate_charges": changed})
        return changed

    async def get_meta(self, key: str) -> str | None:
        async with self.conn.execute(Q["get_meta"], (key,)) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def fetch(self, name: str, *params: Any) -> list[aiosqlite.Row]:
        async with self.conn.execute(Q[name], params) as cur:
            return list(await cur.fetchall())

    async def spend(self) -> tuple[float, float]:
        """Money spent (settled, and what resent items may have cost) and reserved (in flight)."""
        rows = await self.fetch("spend")
        maybe = await self.fetch("get_counter", "possible_duplicate_cost_usd")
        return float(rows[0][0]) + (float(maybe[0][0]) if maybe else 0.0), float(rows[0][1])


def _row_id(row: tuple[Any, ...]) -> str:
    return str(row[0])


def _item_row(item: WorkItem, created: str, gen: int) -> tuple[Any, ...]:
    return (
        item.item_id,
        item.seq,
        item.model,
        item.size,
        item.prompt,
        item.prompt_id,
        dumps(dict(item.params)),
        dumps(dict(item.meta)),
        item.repeat,
        item.images_expected,
        created,
        gen,
    )


def _image_stmt(i: StoredImage) -> _Stmt:
    return _stmt(
        "insert_image",
        i.item_id,
        i.image_index,
        i.file_name,
        i.format,
        i.width,
        i.height,
        i.nbytes,
        i.sha256,
        i.revised_prompt,
        expect=None,
    )


async def _configure(conn: aiosqlite.Connection, synchronous: str) -> None:
    conn.row_factory = aiosqlite.Row
    for pragma in (
        "journal_mode = WAL",
        f"synchronous = {synchronous}",
        "busy_timeout = 10000",
        "cache_size = -65536",  # 64 MiB at most: a 1M-item index no longer thrashes 2 MiB
        "foreign_keys = ON",
    ):
        await conn.execute(f"PRAGMA {pragma}")


async def _migrate(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    if version > len(MIGRATIONS):
        raise SchemaTooNew(
            f"state DB schema version {version} is newer than this runner knows "
            f"({len(MIGRATIONS)}): upgrade runner to resume this job"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await conn.execute("BEGIN IMMEDIATE")
        for statement in filter(str.strip, script.split(";")):
            await conn.execute(statement)
        await conn.execute(f"PRAGMA user_version = {number}")
        await conn.execute("COMMIT")


@asynccontextmanager
async def open_store(path: Path, *, synchronous: str = "FULL") -> AsyncIterator[Store]:
    """Opens (creating or migrating) the state DB and runs its writer until the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await _configure(conn, synchronous)
        await _migrate(conn)
        store = Store(conn, path, synchronous)
        store.gen = int(await store.get_meta("gen") or 0)
        async with store._commits.running():
            yield store
