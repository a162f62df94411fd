"""index.html: one self-contained page to look at a run's images, prompts x models.

The page is rebuilt at the end of every run and must be byte-identical when nothing changed, so it
holds only what the records say (no clock, no request counts). Records are consumed as a stream
and only the capped grid is kept in memory: a million-image run must not build a 1 GB page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from runner.outputs.atomic import write_atomic
from runner.outputs.gallery_html import render_page
from runner.outputs.report import RunSummary
from runner.types import ItemRecord, ItemState

GALLERY_FILE = "index.html"
ColumnKey = tuple[str, str | None]  # (model, size)


@dataclass(frozen=True, slots=True)
class PromptRow:
    """One grid row: a prompt (with its id and template vars) and its items by column."""

    record: ItemRecord  # the first record seen for the prompt: where its text and vars come from
    cells: dict[ColumnKey, list[ItemRecord]] = field(default_factory=dict)


@dataclass(slots=True)
class StateCounts:
    """Per-state item counts, accumulated while streaming."""

    total: int = 0
    done: int = 0
    failed: int = 0
    ambiguous: int = 0
    other: int = 0  # pending or in flight


@dataclass(slots=True)
class GalleryData:
    """Everything the page shows, accumulated from one pass over the records."""

    job: str
    max_rows: int
    counts: StateCounts = field(default_factory=StateCounts)
    images: int = 0
    cost_by_model: dict[str, float] = field(default_factory=dict)
    unpriced_models: dict[str, None] = field(default_factory=dict)  # an ordered set
    rows: dict[str, PromptRow] = field(default_factory=dict)
    columns: dict[ColumnKey, None] = field(default_factory=dict)  # an ordered set
    failures: list[ItemRecord] = field(default_factory=list)
    failures_total: int = 0
    hidden_prompts: set[int] = field(default_factory=set)  # 8-byte digests: memory stays small
    hidden_items: int = 0
    hidden_images: int = 0

    def add(self, record: ItemRecord) -> None:
        """Fold one record into the totals, the grid (while under the cap) and the failures."""
        self._count(record)
        self._place(record)
        if record.state in (ItemState.FAILED, ItemState.AMBIGUOUS):
            self.failures_total += 1
            if len(self.failures) < self.max_rows:
                self.failures.append(record)

    def _count(self, record: ItemRecord) -> None:
        counts, model = self.counts, record.item.model
        counts.total += 1
        if record.state is ItemState.DONE:
            counts.done += 1
            self.images += len(record.images)
            if record.cost_usd is None:
                self.unpriced_models[model] = None
        elif record.state is ItemState.FAILED:
            counts.failed += 1
        elif record.state is ItemState.AMBIGUOUS:
            counts.ambiguous += 1
        else:
            counts.other += 1
        if record.cost_usd is not None:
            self.cost_by_model[model] = self.cost_by_model.get(model, 0.0) + record.cost_usd

    def _place(self, record: ItemRecord) -> None:
        key = prompt_key(record)
        row = self.rows.get(key)
        if row is None and len(self.rows) >= self.max_rows:
            self.hidden_prompts.add(_digest64(key))
            self.hidden_items += 1
            self.hidden_images += len(record.images) if record.state is ItemState.DONE else 0
            return
        if row is None:
            row = self.rows[key] = PromptRow(record)
        column = (record.item.model, record.item.size)
        self.columns[column] = None
        row.cells.setdefault(column, []).append(record)


def write_gallery(
    out_dir: Path, summary: RunSummary, records: Iterable[ItemRecord], max_prompts: int = 500
) -> bool:
    """Write ``<out>/index.html``; returns False when the page was already identical."""
    data = collect(summary.job, records, max_prompts)
    return write_atomic(out_dir / GALLERY_FILE, render_page(data).encode("utf-8"))


def collect(job: str, records: Iterable[ItemRecord], max_prompts: int) -> GalleryData:
    """One streaming pass: totals over every record, grid rows for the first ``max_prompts``."""
    data = GalleryData(job=job, max_rows=max(max_prompts, 0))
    for record in records:
        data.add(record)
    return data


def prompt_key(record: ItemRecord) -> str:
    """What makes two items the same grid row: prompt text, prompt id and template vars."""
    item = record.item
    meta = json.dumps(dict(item.meta), sort_keys=True, default=str, ensure_ascii=False)
    return json.dumps([item.prompt_id, item.prompt, meta], ensure_ascii=False)


def _digest64(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=8).digest())
