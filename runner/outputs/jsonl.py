"""metadata.jsonl and failures.jsonl: the dataset's manifest and the list of what went wrong.

Both are rewritten from the state DB at the end of every run, so an unchanged DB must give
byte-identical files: every row has a fixed key order, nested objects have their keys sorted
(the store may hand them back in any order), and serialisation is compact and UTF-8.
metadata.jsonl follows the Hugging Face ``imagefolder`` convention: ``file_name`` is relative to
the directory holding metadata.jsonl, which is the output directory.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from runner.outputs.atomic import AtomicWriter
from runner.types import JSON, ErrorInfo, ErrorKind, ItemRecord, ItemState, StoredImage

METADATA_FILE = "metadata.jsonl"
FAILURES_FILE = "failures.jsonl"
FAILED_STATES = (ItemState.FAILED, ItemState.AMBIGUOUS)
COST_DECIMALS = 8


def write_metadata(out_dir: Path, records: Iterable[ItemRecord]) -> int:
    """Write ``<out>/metadata.jsonl``: one row per image of every done record; returns rows."""
    return _write_jsonl(out_dir / METADATA_FILE, _metadata_rows(records))


def write_failures(out_dir: Path, records: Iterable[ItemRecord]) -> int:
    """Write ``<out>/failures.jsonl`` (possibly empty): one row per failed or ambiguous record."""
    rows = (failure_row(r) for r in records if r.state in FAILED_STATES)
    return _write_jsonl(out_dir / FAILURES_FILE, rows)


def metadata_row(record: ItemRecord, image: StoredImage) -> JSON:
    """One metadata.jsonl row, keys in the contract's order."""
    item = record.item
    return {
        "file_name": image.file_name,
        "item_id": item.item_id,
        "image_index": image.image_index,
        "prompt": item.prompt,
        "prompt_id": item.prompt_id,
        "model": item.model,
        "size": item.size,
        "params": canonical(item.params),
        "meta": canonical(item.meta),
        "revised_prompt": image.revised_prompt,
        "task_id": record.task_id,
        "width": image.width,
        "height": image.height,
        "bytes": image.nbytes,
        "sha256": image.sha256,
        "format": image.format,
        "cost_usd": image_cost(record),
        "usage": canonical(record.usage),
        "attempts": record.attempts,
        "created_at": record.finished_at,
    }


def failure_row(record: ItemRecord) -> JSON:
    """One failures.jsonl row, keys in the contract's order."""
    item = record.item
    return {
        "item_id": item.item_id,
        "prompt": item.prompt,
        "model": item.model,
        "size": item.size,
        "params": canonical(item.params),
        "state": record.state.value,
        "error": error_of(record).to_json(),
        "attempts": record.attempts,
    }


def image_cost(record: ItemRecord) -> float | None:
    """The item's cost split evenly over its images; None when the item is unpriced."""
    if record.cost_usd is None or not record.images or not math.isfinite(record.cost_usd):
        return None
    return round(record.cost_usd / len(record.images), COST_DECIMALS)


def error_of(record: ItemRecord) -> ErrorInfo:
    """The record's error, or a stand-in saying none was recorded, so rows keep one shape."""
    if record.error is not None:
        return record.error
    if record.state is ItemState.AMBIGUOUS:
        return ErrorInfo(
            ErrorKind.AMBIGUOUS,
            "the request may have reached the provider; its answer was never recorded",
        )
    return ErrorInfo(ErrorKind.INTERNAL, "no error was recorded for this item")


def sorted_images(record: ItemRecord) -> list[StoredImage]:
    """The record's images in image_index order, whatever order the store returned."""
    return sorted(record.images, key=lambda image: image.image_index)


def dumps_line(row: Mapping[str, Any]) -> bytes:
    """One JSON line, UTF-8; ``row``'s nested values must already be :func:`canonical`."""
    try:
        return (dumps_json(row) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in user text: escape it to stay valid UTF-8
        return (dumps_json(row, ascii_only=True) + "\n").encode("ascii")


def dumps_json(value: Any, *, ascii_only: bool = False) -> str:
    """``value`` (already :func:`canonical`) as the compact JSON text the files hold."""
    return json.dumps(
        value,
        ensure_ascii=ascii_only,
        separators=(",", ":"),
        allow_nan=False,  # NaN is not JSON: canonical() already made it null
        default=_json_default,
    )


def _metadata_rows(records: Iterable[ItemRecord]) -> Iterator[JSON]:
    for record in records:
        if record.state is ItemState.DONE:
            for image in sorted_images(record):
                yield metadata_row(record, image)


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    with AtomicWriter(path) as out:
        for row in rows:
            out.write(dumps_line(row))
            count += 1
    return count


def canonical(value: Any) -> Any:
    """Plain JSON-ready data: mapping keys sorted (the store may return them in any order),
    tuples as lists, non-finite floats as null (NaN is not JSON).
    """
    if type(value) in _SCALARS:  # the common case, kept cheap for million-row files
        return value
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return {str(k): canonical(v) for k, v in items}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_SCALARS = frozenset({str, int, bool, type(None)})


def _json_default(value: Any) -> Any:
    """YAML manifests can hold dates and sets; write them as strings and lists."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
