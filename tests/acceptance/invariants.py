"""What must hold after any crash and a resume: the promises of the state machine."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any


def committed_task_ids(db: Path) -> dict[str, str]:
    """item_id -> task_id for every task whose id the DB holds (polling or later)."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT item_id, task_id FROM items WHERE task_id IS NOT NULL")
        return dict(rows.fetchall())


def metadata_rows(out: Path) -> list[dict[str, Any]]:
    text = (out / "metadata.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def check_finished(out: Path, items: int, images: int) -> dict[str, Any]:
    """Every item done exactly once, files intact, DB sound, no temp files; returns the report."""
    rows = metadata_rows(out)
    keys = [(r["item_id"], r["image_index"]) for r in rows]
    assert len(keys) == len(set(keys)) == images
    assert len({r["item_id"] for r in rows}) == items
    for row in rows:
        assert (out / row["file_name"]).stat().st_size == row["bytes"]
    on_disk = {p.name for p in (out / "images").iterdir()}
    assert on_disk == {Path(r["file_name"]).name for r in rows}
    assert not list(out.glob(".*.tmp"))
    assert not list((out / "images").glob(".*.tmp"))
    with closing(sqlite3.connect(out / "state.sqlite")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    report: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["items"]["done"] == items
    return report


def check_tasks_kept(out: Path, before_kill: dict[str, str]) -> None:
    """A task whose id was committed before the kill was polled, never submitted again."""
    final = {r["item_id"]: r["task_id"] for r in metadata_rows(out)}
    for item_id, task_id in before_kill.items():
        assert final[item_id] == task_id, f"{item_id} was resubmitted after its task id was kept"
