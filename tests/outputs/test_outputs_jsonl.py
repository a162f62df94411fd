"""metadata.jsonl and failures.jsonl: the rows, their order and byte-for-byte stability."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from runner.outputs import write_failures, write_metadata
from runner.types import ErrorInfo, ErrorKind, ItemState

from .factory import Records

METADATA_KEYS = [
    "file_name",
    "item_id",
    "image_index",
    "prompt",
    "prompt_id",
    "model",
    "size",
    "params",
    "meta",
    "revised_prompt",
    "task_id",
    "width",
    "height",
    "bytes",
    "sha256",
    "format",
    "cost_usd",
    "usage",
    "attempts",
    "created_at",
]
FAILURE_KEYS = ["item_id", "prompt", "model", "size", "params", "state", "error", "attempts"]


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_metadata_row_has_every_key_and_value(out_dir: Path, records: Records) -> None:
    """A done record's row holds the contract's keys in order, each with the record's value."""
    usage = {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210}
    rec = records.done(
        prompt="a fox in watercolor style",
        model="gpt-image-1",
        size="1536x1024",
        params={"size": "1536x1024", "quality": "high", "n": 1},
        prompt_id="fox-1",
        meta={"animal": "fox", "style": "watercolor"},
        cost_usd=0.25,
        usage=usage,
        revised_prompt="A fox, painted in watercolor",
        attempts=2,
        task_id="task-123",
    )
    assert write_metadata(out_dir, [rec]) == 1
    [row] = read_rows(out_dir / "metadata.jsonl")
    image = rec.images[0]
    assert list(row) == METADATA_KEYS
    assert row == {
        "file_name": image.file_name,
        "item_id": rec.item.item_id,
        "image_index": 0,
        "prompt": "a fox in watercolor style",
        "prompt_id": "fox-1",
        "model": "gpt-image-1",
        "size": "1536x1024",
        "params": {"n": 1, "quality": "high", "size": "1536x1024"},
        "meta": {"animal": "fox", "style": "watercolor"},
        "revised_prompt": "A fox, painted in watercolor",
        "task_id": "task-123",
        "width": 3,
        "height": 2,
        "bytes": (out_dir / image.file_name).stat().st_size,
        "sha256": image.sha256,
        "format": "png",
        "cost_usd": 0.25,
        "usage": usage,
        "attempts": 2,
        "created_at": rec.finished_at,
    }
    assert (out_dir / row["file_name"]).is_file()  # relative to the folder holding the file


def test_metadata_nulls_for_absent_values(out_dir: Path, records: Records) -> None:
    """No prompt id, revised prompt, task, usage or price: null in the row, never omitted."""
    rec = records.done(cost_usd=None, size=None, params={"n": 1})
    write_metadata(out_dir, [rec])
    [row] = read_rows(out_dir / "metadata.jsonl")
    absent = ["prompt_id", "size", "revised_prompt", "task_id", "cost_usd", "usage"]
    assert {key: row[key] for key in absent} == dict.fromkeys(absent)
    assert row["meta"] == {}


def test_metadata_splits_item_cost_over_its_images(out_dir: Path, records: Records) -> None:
    """An n=3 item costing $0.10 gives three rows of $0.03333333 (8 decimals), indexes 0..2."""
    rec = records.done(n_images=3, cost_usd=0.1, params={"n": 3})
    assert write_metadata(out_dir, [rec]) == 3
    rows = read_rows(out_dir / "metadata.jsonl")
    assert [r["image_index"] for r in rows] == [0, 1, 2]
    assert [r["cost_usd"] for r in rows] == [0.03333333] * 3
    assert [r["width"] for r in rows] == [3, 4, 5]
    assert len({r["file_name"] for r in rows}) == 3


def test_metadata_images_in_index_order_whatever_the_store_gave(
    out_dir: Path, records: Records
) -> None:
    """Images handed over out of order are written by image_index."""
    rec = records.done(n_images=2)
    shuffled = dataclasses.replace(rec, images=tuple(reversed(rec.images)))
    write_metadata(out_dir, [shuffled])
    assert [r["image_index"] for r in read_rows(out_dir / "metadata.jsonl")] == [0, 1]


def test_metadata_only_done_records_in_given_order(out_dir: Path, records: Records) -> None:
    """Failed, ambiguous and pending items have no rows; done ones keep the given order."""
    second = records.done(prompt="second")
    failed = records.failed(ErrorInfo(ErrorKind.INVALID, "bad prompt", 400))
    first = records.done(prompt="first")
    pending = records.pending()
    assert write_metadata(out_dir, [second, failed, first, pending]) == 2
    assert [r["prompt"] for r in read_rows(out_dir / "metadata.jsonl")] == ["second", "first"]


def test_metadata_is_byte_identical_for_reordered_nested_keys(
    out_dir: Path, records: Records
) -> None:
    """The same data with params/meta keys in another order gives the same bytes, untouched."""
    rec = records.done(params={"quality": "hd", "n": 1, "style": "vivid"}, meta={"b": 1, "a": 2})
    write_metadata(out_dir, [rec])
    path = out_dir / "metadata.jsonl"
    first = path.read_bytes()
    reordered_item = dataclasses.replace(
        rec.item, params={"style": "vivid", "n": 1, "quality": "hd"}, meta={"a": 2, "b": 1}
    )
    mtime = path.stat().st_mtime_ns
    write_metadata(out_dir, [dataclasses.replace(rec, item=reordered_item)])
    assert path.read_bytes() == first
    assert path.stat().st_mtime_ns == mtime


def test_metadata_keeps_unicode_and_escapes_lone_surrogates(
    out_dir: Path, records: Records
) -> None:
    """Non-ASCII prompts stay readable UTF-8; a lone surrogate still gives valid UTF-8 JSON."""
    cat = records.done(prompt="猫が窓辺に座る 🐱")
    broken = records.done(prompt="bad \ud800 text")
    write_metadata(out_dir, [cat, broken])
    raw = (out_dir / "metadata.jsonl").read_bytes()
    assert "猫が窓辺に座る 🐱".encode() in raw
    rows = read_rows(out_dir / "metadata.jsonl")  # decodes as strict UTF-8
    assert [r["prompt"] for r in rows] == ["猫が窓辺に座る 🐱", "bad \ud800 text"]


def test_metadata_writes_non_json_yaml_values_as_strings(out_dir: Path, records: Records) -> None:
    """A YAML date in meta and a NaN float become a string and null instead of failing."""
    rec = records.done(meta={"day": dt.date(2024, 5, 1), "score": float("nan")})
    write_metadata(out_dir, [rec])
    [row] = read_rows(out_dir / "metadata.jsonl")
    assert row["meta"] == {"day": "2024-05-01", "score": None}


def test_metadata_empty_run_writes_an_empty_file(out_dir: Path) -> None:
    """No done items: an empty metadata.jsonl, so scripts can always open it."""
    assert write_metadata(out_dir, []) == 0
    assert (out_dir / "metadata.jsonl").read_bytes() == b""


def test_failures_rows(out_dir: Path, records: Records) -> None:
    """Failed and ambiguous records give rows with the contract's keys; others give none."""
    error = ErrorInfo(ErrorKind.INVALID, "content policy violation", 400, "content_policy")
    failed = records.failed(error, prompt="p1", model="dall-e-3", params={"n": 1, "style": "x"})
    timeout = ErrorInfo(ErrorKind.AMBIGUOUS, "read timeout after send")
    ambiguous = records.failed(timeout, state=ItemState.AMBIGUOUS, attempts=1, prompt="p2")
    done = records.done()
    assert write_failures(out_dir, [failed, done, ambiguous, records.pending()]) == 2
    rows = read_rows(out_dir / "failures.jsonl")
    assert [list(r) for r in rows] == [FAILURE_KEYS, FAILURE_KEYS]
    assert rows[0] == {
        "item_id": failed.item.item_id,
        "prompt": "p1",
        "model": "dall-e-3",
        "size": "1024x1024",
        "params": {"n": 1, "style": "x"},
        "state": "failed",
        "error": {
            "kind": "invalid",
            "http_status": 400,
            "code": "content_policy",
            "message": "content policy violation",
        },
        "attempts": 5,
    }
    assert (rows[1]["state"], rows[1]["attempts"], rows[1]["error"]["kind"]) == (
        "ambiguous",
        1,
        "ambiguous",
    )


def test_failures_without_recorded_error_keep_the_row_shape(
    out_dir: Path, records: Records
) -> None:
    """A record with no error still gets an error object saying nothing was recorded."""
    ambiguous = records.failed(None, state=ItemState.AMBIGUOUS)
    failed = records.failed(None)
    write_failures(out_dir, [ambiguous, failed])
    errors = [r["error"] for r in read_rows(out_dir / "failures.jsonl")]
    assert [e["kind"] for e in errors] == ["ambiguous", "internal"]
    assert all(set(e) == {"kind", "http_status", "code", "message"} for e in errors)
    assert all(e["message"] for e in errors)


def test_failures_written_empty_every_time(out_dir: Path, records: Records) -> None:
    """After the failures were retried and done, failures.jsonl is rewritten empty."""
    failed = records.failed(ErrorInfo(ErrorKind.RETRYABLE, "503"))
    write_failures(out_dir, [failed])
    assert (out_dir / "failures.jsonl").read_bytes() != b""
    assert write_failures(out_dir, [records.done()]) == 0
    assert (out_dir / "failures.jsonl").read_bytes() == b""


def test_metadata_loads_with_hugging_face_imagefolder(out_dir: Path, records: Records) -> None:
    """``load_dataset("imagefolder", data_dir=out)`` reads every row, with an image column."""
    datasets = pytest.importorskip("datasets")
    rows = [
        records.done(prompt="a cat", params={"n": 2, "quality": "hd"}, n_images=2),
        records.done(prompt="a fox", model="gpt-image-1", usage={"total_tokens": 10}),
    ]
    write_metadata(out_dir, rows)
    write_failures(out_dir, [records.failed(ErrorInfo(ErrorKind.INVALID, "no"))])
    loaded = datasets.load_dataset(
        "imagefolder", data_dir=str(out_dir), split="train", cache_dir=str(out_dir.parent / "c")
    )
    assert loaded.num_rows == 3
    expected = {"image", *METADATA_KEYS} - {"file_name"}
    assert set(loaded.column_names) == expected
    assert loaded[0]["image"].size == (3, 2)
    assert loaded[2]["model"] == "gpt-image-1"
