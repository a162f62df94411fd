"""metadata.jsonl, failures.jsonl and the gallery's data from one pass over the store's rows.

A million-item job rewrites its outputs at the end of every run, resumes included, so this path
works on the state DB's raw rows and decodes no JSON it can copy: the store writes params, meta and
usage as sorted, compact JSON, which is byte for byte what metadata.jsonl holds whenever the text
is plain ASCII without escapes or NaN. Every other item goes through the record writers of
jsonl.py, which define the bytes; the tests hold both paths to the same output.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path
from typing import Protocol, TypeVar, cast

from runner.outputs.atomic import AtomicWriter
from runner.outputs.gallery import GalleryData
from runner.outputs.jsonl import (
    COST_DECIMALS,
    FAILURES_FILE,
    METADATA_FILE,
    canonical,
    dumps_json,
    dumps_line,
    failure_row,
    metadata_row,
    sorted_images,
)
from runner.types import ItemRecord, ItemState

BATCH_LINES = 4096  # lines joined into one write: few calls for a million rows


class StoredRow(Protocol):
    """One row of the store's output query: an item's columns, then one of its images (None
    throughout for an item without images). params, meta and usage are the stored JSON text."""

    @property
    def item_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def size(self) -> str | None: ...
    @property
    def prompt(self) -> str: ...
    @property
    def prompt_id(self) -> str | None: ...
    @property
    def params(self) -> str: ...
    @property
    def meta(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def task_id(self) -> str | None: ...
    @property
    def cost_usd(self) -> float | None: ...
    @property
    def usage(self) -> str | None: ...
    @property
    def finished_at(self) -> str | None: ...
    @property
    def image_index(self) -> int | None: ...
    @property
    def file_name(self) -> str | None: ...
    @property
    def format(self) -> str | None: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def nbytes(self) -> int | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def revised_prompt(self) -> str | None: ...


Row = TypeVar("Row", bound=StoredRow)


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one pass wrote and collected."""

    metadata_rows: int  # one per image of a done item
    gallery: GalleryData  # for gallery.write_page, once the job's summary is known


def write_item_outputs(
    out_dir: Path,
    items: Iterable[Sequence[Row]],
    decode: Callable[[Sequence[Row]], ItemRecord],
    max_prompts: int = 500,
) -> PassResult:
    """Write metadata.jsonl and failures.jsonl and collect the gallery, in one pass.

    ``items``: every item in manifest order, each as its rows (one per image, in image_index
    order); ``decode`` makes the ItemRecord of one item's rows, for the items that need one.
    """
    gallery = GalleryData(max_rows=max(max_prompts, 0))
    with (
        AtomicWriter(out_dir / METADATA_FILE) as metadata,
        AtomicWriter(out_dir / FAILURES_FILE) as failures,
    ):
        lines = _Batched(metadata)
        for rows in items:
            record = _add_item(rows, functools.partial(decode, rows), lines, gallery)
            if record is not None:
                failures.write(dumps_line(failure_row(record)))
        lines.flush()
    return PassResult(lines.count, gallery)


def _add_item(
    rows: Sequence[StoredRow],
    decode: Callable[[], ItemRecord],
    lines: _Batched,
    gallery: GalleryData,
) -> ItemRecord | None:
    """Write a done item's metadata lines and fold the item into the gallery; returns the
    record of a failed or ambiguous item (for failures.jsonl), None for any other."""
    first = rows[0]
    state = _STATES.get(first.state) or ItemState(first.state)  # a dict is faster than the Enum
    images = len(rows) if first.file_name is not None else 0
    failed = None
    if state is ItemState.DONE and images:
        lines.extend(metadata_lines(rows, decode))
    elif state in (ItemState.FAILED, ItemState.AMBIGUOUS):
        failed = decode()
        decode = functools.partial(_same, failed)
    # (prompt_id, prompt, stored meta) are equal exactly when prompt_key()s are: the stored
    # meta is one canonical text per value
    key = (first.prompt_id, first.prompt, first.meta)
    gallery.add_item(key, state, first.model, first.size, first.cost_usd, images, decode)
    return failed


_STATES = {state.value: state for state in ItemState}


def _same(record: ItemRecord) -> ItemRecord:
    return record


class _Batched:
    """Lines gathered into large writes."""

    def __init__(self, out: AtomicWriter) -> None:
        self.out = out
        self.count = 0
        self._lines: list[bytes] = []

    def extend(self, lines: list[bytes]) -> None:
        self._lines += lines
        self.count += len(lines)
        if len(self._lines) >= BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        self.out.write(b"".join(self._lines))
        self._lines = []


def metadata_lines(rows: Sequence[StoredRow], decode: Callable[[], ItemRecord]) -> list[bytes]:
    """A done item's metadata.jsonl lines, byte for byte what jsonl.metadata_row gives."""
    try:
        return _copied_lines(rows)
    except (TypeError, AttributeError, ValueError):  # UnicodeEncodeError is a ValueError
        # not the store's plain types or text, or a lone surrogate: the record path decides
        record = decode()
        return [dumps_line(metadata_row(record, image)) for image in sorted_images(record)]


# json.dumps(ensure_ascii=False) writes a str with this very function; both formatters raise
# TypeError on any other type, which sends the item to the record path.
_str = cast(Callable[[object], str], encode_basestring)
_int = int.__repr__  # SQLite hands back int, float, str, bytes or None: never a bool


def _copied_lines(rows: Sequence[StoredRow]) -> list[bytes]:
    """The lines built from the stored text; the keys in metadata_row's order."""
    item = rows[0]
    item_id, task_id = _str(item.item_id), _opt(item.task_id)
    head = (
        f',"prompt":{_str(item.prompt)},"prompt_id":{_opt(item.prompt_id)},'
        f'"model":{_str(item.model)},"size":{_opt(item.size)},"params":{_json(item.params)},'
        f'"meta":{_json(item.meta)},'
    )
    usage = "null" if item.usage is None else _json(item.usage)
    tail = (
        f',"cost_usd":{_cost(item.cost_usd, len(rows))},"usage":{usage},'
        f'"attempts":{_int(item.attempts)},"created_at":{_opt(item.finished_at)}}}\n'
    )
    return [_line(row, item_id, head, task_id, tail) for row in rows]


def _line(row: StoredRow, item_id: str, head: str, task_id: str, tail: str) -> bytes:
    text = (
        f'{{"file_name":{_str(row.file_name)},"item_id":{item_id},'
        f'"image_index":{_int(row.image_index)}{head}'
        f'"revised_prompt":{_opt(row.revised_prompt)},"task_id":{task_id},'
        f'"width":{_int(row.width)},"height":{_int(row.height)},"bytes":{_int(row.nbytes)},'
        f'"sha256":{_str(row.sha256)},"format":{_str(row.format)}{tail}'
    )
    return text.encode("utf-8")


def _opt(value: str | None) -> str:
    return "null" if value is None else _str(value)


def _cost(cost_usd: float | None, images: int) -> str:
    """jsonl.image_cost as JSON."""
    if cost_usd is None or not math.isfinite(cost_usd):
        return "null"
    if not cost_usd:  # 0.0 and -0.0: one key to a cache, two texts in JSON
        return _image_cost(cost_usd, images)
    return _cached_image_cost(cost_usd, images)


def _image_cost(cost_usd: float, images: int) -> str:
    return float.__repr__(round(cost_usd / images, COST_DECIMALS))


# a job has few distinct costs, and rounding a float to 8 places is slow
_cached_image_cost = functools.lru_cache(maxsize=1024)(_image_cost)


def _json(text: str) -> str:
    """Stored JSON as metadata.jsonl writes it: the text itself unless it holds an escape
    (non-ASCII or a control character, which the file keeps unescaped) or a NaN/Infinity."""
    if text.isascii() and "\\u" not in text and "NaN" not in text and "Infinity" not in text:
        return text
    return dumps_json(canonical(json.loads(text)))
