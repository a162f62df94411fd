"""index.html: one self-contained page to look at a run's images, prompts x models.

The page is rebuilt at the end of every run and must be byte-identical when nothing changed, so it
holds only what the records say (no clock, no request counts). Records are consumed as a stream
and only the capped grid is kept in memory: a million-image run must not build a 1 GB page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Iterable
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
    """Everything the page shows, accumulated from one pass over the items.

    Items come in as the few plain values the totals need, plus a way to get their full record:
    only the items the page shows (grid and failures, both capped) are ever decoded into one.
    ``key`` is what makes two items the same grid row; equal keys must mean equal prompt text,
    prompt id and template vars (see :func:`prompt_key`).
    """

    max_rows: int
    counts: StateCounts = field(default_factory=StateCounts)
    images: int = 0
    cost_by_model: dict[str, float] = field(default_factory=dict)
    unpriced_models: dict[str, None] = field(default_factory=dict)  # an ordered set
    rows: dict[Hashable, PromptRow] = field(default_factory=dict)
    columns: dict[ColumnKey, None] = field(default_factory=dict)  # an ordered set
    failures: list[ItemRecord] = field(default_factory=list)
    failures_total: int = 0
    hidden_prompts: set[int] = field(default_factory=set)  # 8-byte digests: memory stays small
    hidden_items: int = 0
    hidden_images: int = 0
    _last_hidden: Hashable = None  # items of one prompt come together: one digest for them all

    def add(self, record: ItemRecord) -> None:
        """Fold one record into the totals, the grid (while under the cap) and the failures."""
        item, key = record.item, prompt_key(record)
        images = len(record.images)
        self.add_item(
            key, record.state, item.model, item.size, record.cost_usd, images, lambda: record
        )

    def add_item(
        self,
        key: Hashable,
        state: ItemState,
        model: str,
        size: str | None,
        cost_usd: float | None,
        images: int,
        record: Callable[[], ItemRecord],
    ) -> None:
        """Fold one item in; ``record`` is called (once) only if the page shows the item."""
        self._count(state, model, cost_usd, images)
        row = self.rows.get(key)
        shown = row is not None or len(self.rows) < self.max_rows
        if not shown:
            self._hide(key, state, images)
        failed = state in _FAILED
        listed = failed and len(self.failures) < self.max_rows
        self.failures_total += failed
        if not (shown or listed):
            return
        full = record()
        if shown:
            if row is None:
                row = self.rows[key] = PromptRow(full)
            self.columns[(model, size)] = None
            row.cells.setdefault((model, size), []).append(full)
        if listed:
            self.failures.append(full)

    def _count(self, state: ItemState, model: str, cost_usd: float | None, images: int) -> None:
        counts = self.counts
        counts.total += 1
        if state is ItemState.DONE:
            counts.done += 1
            self.images += images
            if cost_usd is None:
                self.unpriced_models[model] = None
        elif state is ItemState.FAILED:
            counts.failed += 1
        elif state is ItemState.AMBIGUOUS:
            counts.ambiguous += 1
        else:
            counts.other += 1
        if cost_usd is not None:
            self.cost_by_model[model] = self.cost_by_model.get(model, 0.0) + cost_usd

    def _hide(self, key: Hashable, state: ItemState, images: int) -> None:
        """Count an item left out of the full grid; its prompt is kept as a digest only."""
        if key != self._last_hidden:
            self._last_hidden = key
            self.hidden_prompts.add(_digest64(key if isinstance(key, str) else repr(key)))
        self.hidden_items += 1
        self.hidden_images += images if state is ItemState.DONE else 0


_FAILED = (ItemState.FAILED, ItemState.AMBIGUOUS)


def write_gallery(
    out_dir: Path, summary: RunSummary, records: Iterable[ItemRecord], max_prompts: int = 500
) -> bool:
    """Write ``<out>/index.html``; returns False when the page was already identical."""
    return write_page(out_dir, collect(records, max_prompts), summary.job)


def write_page(out_dir: Path, data: GalleryData, job: str) -> bool:
    """Write ``<out>/index.html`` from collected data; False when the page was already identical."""
    return write_atomic(out_dir / GALLERY_FILE, render_page(data, job).encode("utf-8"))


def collect(records: Iterable[ItemRecord], max_prompts: int) -> GalleryData:
    """One streaming pass: totals over every record, grid rows for the first ``max_prompts``."""
    data = GalleryData(max_rows=max(max_prompts, 0))
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
