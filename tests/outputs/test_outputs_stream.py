"""The one-pass writers over the store's raw rows give the record writers' bytes, row for row."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runner.outputs import RunSummary, write_failures, write_gallery, write_metadata
from runner.outputs.gallery import write_page
from runner.outputs.stream import write_item_outputs
from runner.scheduler.reporting import RunTimes, summarize, write_outputs
from runner.store import connect_ro, iter_records, open_store, read_totals
from runner.store.readers import OutputRow, iter_output_items, record_of
from runner.types import ErrorInfo, ErrorKind, ItemState, StoredImage, WorkItem

NAMES = ("metadata.jsonl", "failures.jsonl", "index.html")
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def work_item(seq: int, prompt: str, **changes: Any) -> WorkItem:
    fields: dict[str, Any] = {
        "item_id": f"item{seq:04d}",
        "seq": seq,
        "model": "gpt-image-1",
        "prompt": prompt,
        "size": "1024x1024",
        "params": {"size": "1024x1024", "n": 1, "quality": "high"},
    }
    return WorkItem(**(fields | changes))


def image(item_id: str, index: int, revised: str | None = None) -> StoredImage:
    name = f"images/{item_id}-{index}.png"
    return StoredImage(item_id, index, name, "png", 3 + index, 2, 70 + index, "ab" * 32, revised)


# Items chosen to take every path: text copied as stored, JSON with escapes or NaN re-encoded,
# several images, every state. (SQLite cannot store a lone surrogate, so none is here.)
ITEMS = [
    work_item(0, "a plain cat"),
    work_item(1, "un café à Noël ☕", meta={"ville": "Zürich", "n": [1, {"b": 2, "a": 1}]}),
    work_item(2, 'tab\there, quote " and back\\slash', params={"n": 2, "style": "naïve"}),
    work_item(3, "not a number", prompt_id="odd", meta={"score": float("nan")}),
    work_item(4, "never sent", size=None, params={"n": 1}),
    work_item(5, "refused", prompt_id="p5"),
    work_item(6, "lost on the wire"),
    work_item(7, "in flight"),
    work_item(8, "a plain cat", model="dall-e-3", meta={"k": "\x7f"}),
    work_item(9, "never sent", prompt_id="relabelled"),  # another grid row than item 4's
]
USAGE = {"output_tokens_details": {"image_tokens": 4160}, "input_tokens": 12, "output_tokens": 4160}


async def fill(db: Path) -> None:
    """Items in every state, written through the real store (so its JSON text is the real one)."""
    async with open_store(db) as store:
        await store.sync_items(ITEMS, "fp")
        for i in (0, 1, 2, 3, 5, 6, 7, 8):
            await store.mark_submitting(f"item{i:04d}", 0.0)
        await store.mark_done("item0000", ItemState.SUBMITTING, [image("item0000", 0)], None, 0.04)
        await store.mark_done(
            "item0001", ItemState.SUBMITTING, [image("item0001", 0, "un café")], USAGE, 0.1
        )
        two = [image("item0002", 1, "second"), image("item0002", 0)]  # stored out of order
        await store.mark_done("item0002", ItemState.SUBMITTING, two, {"input_tokens": 3}, 1 / 3)
        nan = [image("item0003", 0, "revised\nprompt")]
        await store.mark_done("item0003", ItemState.SUBMITTING, nan, None, None)
        await store.mark_done("item0008", ItemState.SUBMITTING, [image("item0008", 0)], {}, 0.08)
        refusal = ErrorInfo(ErrorKind.INVALID, "refusé: <safety>", 400, "content_policy")
        await store.mark_failed("item0005", ItemState.SUBMITTING, refusal)
        lost = ErrorInfo(ErrorKind.AMBIGUOUS, "read timeout")
        await store.mark_ambiguous("item0006", ItemState.SUBMITTING, lost)
        await store.mark_polling("item0007", "task-7", None)


def summary_of(db: Path) -> RunSummary:
    with connect_ro(db) as conn:
        return summarize("stream", read_totals(conn), RunTimes(WHEN, WHEN, 1), None)


def write_by_records(db: Path, out: Path, max_prompts: int = 500) -> None:
    """The reference: every record decoded, then the record writers."""
    out.mkdir()
    with connect_ro(db) as conn:
        records = list(iter_records(conn))
    write_metadata(out, records)
    write_failures(out, records)
    write_gallery(out, summary_of(db), records, max_prompts=max_prompts)


def files(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in NAMES}


@pytest.mark.asyncio
async def test_run_outputs_equal_the_record_writers_byte_for_byte(tmp_path: Path) -> None:
    """write_outputs (one pass, stored text copied) writes exactly what the record path writes."""
    db = tmp_path / "state.sqlite"
    await fill(db)
    write_by_records(db, tmp_path / "records")
    out = tmp_path / "out"
    out.mkdir()
    summary = write_outputs(
        db, out, lambda t: summarize("stream", t, RunTimes(WHEN, WHEN, 1), None)
    )
    assert files(out) == files(tmp_path / "records")
    lines = (out / "metadata.jsonl").read_bytes().splitlines()
    assert len(lines) == summary.images == 6
    assert b'"meta":{"score":null}' in lines[4]  # stored as NaN: re-encoded, not copied
    assert "un café à Noël ☕".encode() in lines[1]  # stored as \u escapes, written as UTF-8


@pytest.mark.asyncio
async def test_gallery_cap_counts_hidden_prompts_like_the_record_path(tmp_path: Path) -> None:
    """With the grid capped, the hidden prompt, item and image counts match the record path."""
    db = tmp_path / "state.sqlite"
    await fill(db)
    write_by_records(db, tmp_path / "records", max_prompts=2)
    out = tmp_path / "out"
    out.mkdir()
    with connect_ro(db) as conn:
        written = write_item_outputs(out, iter_output_items(conn), record_of, max_prompts=2)
    write_page(out, written.gallery, "stream")
    assert written.gallery.hidden_prompts
    assert files(out) == files(tmp_path / "records")


def test_rows_the_store_would_not_write_take_the_record_path(tmp_path: Path) -> None:
    """A float where an integer belongs, or JSON not in the store's form, is decoded, not copied."""
    row = OutputRow(
        seq=0,
        item_id="x1",
        state="done",
        model="m",
        size=None,
        prompt="p",
        prompt_id=None,
        params='{"b": 1, "a": NaN}',  # spaces, unsorted, NaN: copying it would be wrong
        meta="{}",
        repeat=0,
        attempts=1,
        task_id=None,
        cost_usd=math.inf,
        usage=None,
        error=None,
        finished_at=None,
        image_index=0,
        file_name="images/x1-0.png",
        format="png",
        width=4,
        height=2.0,  # type: ignore[arg-type]  # a REAL where the schema says INTEGER
        nbytes=9,
        sha256="00",
        revised_prompt=None,
    )
    rows = [(row,), (row._replace(item_id="x2", height=2, seq=1),)]
    (tmp_path / "a").mkdir()
    write_item_outputs(tmp_path / "a", rows, record_of)
    (tmp_path / "b").mkdir()
    write_metadata(tmp_path / "b", [record_of(r) for r in rows])
    expected = (tmp_path / "b" / "metadata.jsonl").read_bytes()
    assert (tmp_path / "a" / "metadata.jsonl").read_bytes() == expected
    assert b'"params":{"a":null,"b":1}' in expected
    assert b'"height":2.0' in expected.splitlines()[0]


def test_costs_of_zero_keep_their_sign_and_an_imageless_done_item_has_no_line(
    tmp_path: Path,
) -> None:
    """-0.0 and 0.0 (equal, so one key to a cache) are written as the record path writes them;
    a done item without images adds no metadata line."""
    base = OutputRow(
        *(0, "z0", "done", "m", None, "p", None, "{}", "{}", 0, 1, None, -0.0, None, None, None),
        *(0, "images/z0-0.png", "png", 1, 1, 5, "00", None),
    )
    rows = [
        (base,),
        (base._replace(seq=1, item_id="z1", cost_usd=0.0, file_name="images/z1-0.png"),),
        (base._replace(seq=2, item_id="z2", image_index=None, file_name=None, format=None),),
    ]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    written = write_item_outputs(tmp_path / "a", rows, record_of)
    write_metadata(tmp_path / "b", [record_of(r) for r in rows])
    lines = (tmp_path / "a" / "metadata.jsonl").read_bytes()
    assert lines == (tmp_path / "b" / "metadata.jsonl").read_bytes()
    assert [b'"cost_usd":-0.0' in line for line in lines.splitlines()] == [True, False]
    assert written.metadata_rows == 2
    assert written.gallery.counts.done == 3
