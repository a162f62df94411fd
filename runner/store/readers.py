"""Synchronous, read-only views of the state DB.

Output writing and ``runner status`` read through a separate plain sqlite3 connection (WAL lets
it read while a run is writing), in a worker thread, streaming rows so that a million items stay
flat in memory.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.store.queries import Q
from runner.types import ErrorInfo, ItemRecord, ItemState, StoredImage, WorkItem

_RECORDS = """
SELECT i.*, m.image_index, m.file_name, m.format, m.width, m.height, m.bytes, m.sha256,
       m.revised_prompt
FROM items i LEFT JOIN images m ON m.item_id = i.item_id AND i.state = 'done'
WHERE i.gen = ?
ORDER BY i.seq, m.image_index
"""


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


def _image(row: sqlite3.Row) -> StoredImage:
    return StoredImage(
        item_id=row["item_id"],
        image_index=row["image_index"],
        file_name=row["file_name"],
        format=row["format"],
        width=row["width"],
        height=row["height"],
        nbytes=row["bytes"],
        sha256=row["sha256"],
        revised_prompt=row["revised_prompt"],
    )


def _record(row: sqlite3.Row, images: tuple[StoredImage, ...]) -> ItemRecord:
    error = _loads(row["error"])
    return ItemRecord(
        item=work_item(row),
        state=ItemState(row["state"]),
        attempts=row["attempts"],
        task_id=row["task_id"],
        cost_usd=row["cost_usd"],
        usage=_loads(row["usage"]),
        error=ErrorInfo.from_json(error) if error else None,
        finished_at=row["finished_at"],
        images=images,
    )


def iter_records(conn: sqlite3.Connection) -> Iterator[ItemRecord]:
    """Every item in manifest order with its images; one pass over a join, grouped as it streams."""
    current: sqlite3.Row | None = None
    images: list[StoredImage] = []
    for row in conn.execute(_RECORDS, (current_gen(conn),)):
        if current is not None and row["item_id"] != current["item_id"]:
            yield _record(current, tuple(images))
            images = []
        current = row
        if row["file_name"] is not None:
            images.append(_image(row))
    if current is not None:
        yield _record(current, tuple(images))


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
        usage = json.loads(text)
        acc = totals.setdefault(model, {})
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            if isinstance(usage.get(key), int):
                acc[key] = acc.get(key, 0) + usage[key]
    return dict(sorted(totals.items()))


def read_totals(conn: sqlite3.Connection) -> Totals:
    gen = (current_gen(conn),)
    return Totals(
        by_state={state: count for state, count, _ in conn.execute(Q["counts_by_state"], gen)},
        images=int(conn.execute(Q["image_count"], gen).fetchone()[0]),
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
