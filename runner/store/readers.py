"""Synchronous, read-only views of the state DB.

Output writing and ``runner status`` read through a separate plain sqlite3 connection (WAL lets
it read while a run is writing), in a worker thread, streaming rows so that a million items stay
flat in memory.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple, cast

from runner.store.queries import Q
from runner.types import ErrorInfo, ItemRecord, ItemState, StoredImage, WorkItem


def connect_ro(path: Path, *, owner: bool = False) -> sqlite3.Connection:
    """A connection for reading only. ``owner``: the caller holds the directory's lock and is the
    last user, so the connection is opened read-write (reads only) and its close checkpoints the
    WAL, leaving no -wal/-shm files beside the DB; a read-only connection cannot do that."""
    target = str(path) if owner else f"file:{path}?mode=ro"
    conn = sqlite3.connect(target, uri=not owner, timeout=10.0)
    conn.row_factory = sqlite3.Row
    return conn


def current_gen(conn: sqlite3.Connection) -> int:
    row = conn.execute(Q["get_meta"], ("gen",)).fetchone()
    return int(row[0]) if row else 0


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def work_item(row: sqlite3.Row | Any) -> WorkItem:
    return WorkItem(
        item_id=row["item_id"],
        seq=row["seq"],
        model=row["model"],
        prompt=row["prompt"],
        size=row["size"],
        params=json.loads(row["params"]),
        prompt_id=row["prompt_id"],
        meta=json.loads(row["meta"]),
        repeat=row["repeat"],
    )


class OutputRow(NamedTuple):
    """One row of the `output_rows` query: an item's columns, then one of its images (all None
    for an item without images). JSON columns keep the store's text, so a consumer that only
    copies them never parses them. A NamedTuple rather than a dataclass: a million are built per
    run, at C speed."""

    seq: int
    item_id: str
    state: str
    model: str
    size: str | None
    prompt: str
    prompt_id: str | None
    params: str  # JSON, as stored
    meta: str  # JSON, as stored
    repeat: int
    attempts: int
    task_id: str | None
    cost_usd: float | None
    usage: str | None  # JSON, as stored
    error: str | None  # JSON, as stored
    finished_at: str | None
    image_index: int | None
    file_name: str | None
    format: str | None
    width: int | None
    height: int | None
    nbytes: int | None
    sha256: str | None
    revised_prompt: str | None


_SEQ = attrgetter("seq")
_ITEM_ID = attrgetter("item_id")
_IMAGE_INDEX = attrgetter("image_index")


def iter_output_items(conn: sqlite3.Connection) -> Iterator[tuple[OutputRow, ...]]:
    """Every item of the current generation in manifest order, as its rows: one per image, in
    image_index order (one row with no image for an item without images). Streams."""
    gen = current_gen(conn)
    rows = heapq.merge(*(_state_rows(conn, state, gen) for state in ItemState), key=_SEQ)
    for _, group in itertools.groupby(rows, key=_ITEM_ID):
        item = tuple(group)
        yield item if len(item) == 1 else tuple(sorted(item, key=_IMAGE_INDEX))


def _state_rows(conn: sqlite3.Connection, state: ItemState, gen: int) -> Iterator[OutputRow]:
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: OutputRow names them
    return map(OutputRow._make, cursor.execute(Q["output_rows"], (state.value, gen)))


def record_of(rows: Sequence[OutputRow]) -> ItemRecord:
    """One item's rows (from :func:`iter_output_items`) as an ItemRecord, its JSON decoded."""
    row = rows[0]
    error = _loads(row.error)
    item = WorkItem(
        item_id=row.item_id,
        seq=row.seq,
        model=row.model,
        prompt=row.prompt,
        size=row.size,
        params=json.loads(row.params),
        prompt_id=row.prompt_id,
        meta=json.loads(row.meta),
        repeat=row.repeat,
    )
    return ItemRecord(
        item=item,
        state=ItemState(row.state),
        attempts=row.attempts,
        task_id=row.task_id,
        cost_usd=row.cost_usd,
        usage=_loads(row.usage),
        error=ErrorInfo.from_json(error) if error else None,
        finished_at=row.finished_at,
        images=tuple(_image(r) for r in rows if r.file_name is not None),
    )


# An image's columns, NOT NULL in the images table, so set wherever the join found an image.
_ImageColumns = tuple[int, str, str, int, int, int, str, str | None]
_FIRST_IMAGE_COLUMN = OutputRow._fields.index("image_index")


def _image(row: OutputRow) -> StoredImage:
    columns = cast(_ImageColumns, row[_FIRST_IMAGE_COLUMN:])
    return StoredImage(row.item_id, *columns)


def iter_records(conn: sqlite3.Connection) -> Iterator[ItemRecord]:
    """Every item in manifest order with its images, decoded; streams."""
    return map(record_of, iter_output_items(conn))


@dataclass(frozen=True, slots=True)
class Totals:
    """Whole-job figures for the report and `runner status`."""

    by_state: dict[str, int]
    images: int
    cost_by_model: dict[str, float]
    usage_by_model: dict[str, dict[str, int]]
    counters: dict[str, float]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    def count(self, state: ItemState) -> int:
        return self.by_state.get(state.value, 0)

    @property
    def in_flight(self) -> int:
        return sum(
            self.count(s) for s in (ItemState.SUBMITTING, ItemState.POLLING, ItemState.DOWNLOADING)
        )


def _usage_by_model(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for model, text in conn.execute(Q["usage_rows"], (current_gen(conn),)):
        acc = totals.setdefault(model, {})
        for key, value in _token_counts(text):
            acc[key] = acc.get(key, 0) + value
    return dict(sorted(totals.items()))


@functools.lru_cache(maxsize=4096)
def _token_counts(usage_json: str) -> tuple[tuple[str, int], ...]:
    """The token counts of one stored usage. Cached: a job's answers repeat the same few usages
    (same size and quality, similar prompts), and a million rows need not be parsed a million
    times."""
    usage = json.loads(usage_json)
    keys = ("input_tokens", "output_tokens", "total_tokens")
    return tuple((key, usage[key]) for key in keys if isinstance(usage.get(key), int))


def read_totals(conn: sqlite3.Connection, *, images: int | None = None) -> Totals:
    """Whole-job figures. ``images``: the count of done items' images when the caller has just
    counted them (the output pass does), which spares a join over every image."""
    gen = (current_gen(conn),)
    if images is None:
        images = int(conn.execute(Q["image_count"], gen).fetchone()[0])
    return Totals(
        by_state={state: count for state, count in conn.execute(Q["counts_by_state"], gen)},
        images=images,
        cost_by_model={m: round(float(c), 8) for m, c in conn.execute(Q["cost_by_model"], gen)},
        usage_by_model=_usage_by_model(conn),
        counters={name: value for name, value in conn.execute(Q["counters"])},
    )


def done_by_model(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute(Q["done_by_model"], (current_gen(conn),))
    return {model: count for model, count in rows}


def last_run(conn: sqlite3.Connection) -> tuple[str, str | None, int | None] | None:
    """The latest run's (started_at, finished_at, exit_code); None before any run."""
    row = conn.execute(Q["last_run"]).fetchone()
    return None if row is None else (row[0], row[1], row[2])
