"""Writes every output file from the state DB alone, so `runner report` and a run agree."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runner import crashpoints
from runner.outputs.gallery import write_page
from runner.outputs.report import RunSummary, write_report
from runner.outputs.stream import write_item_outputs
from runner.store.readers import Totals, connect_ro, iter_output_items, read_totals, record_of
from runner.types import ItemState

REQUEST_COUNTERS = ("generations", "polls", "downloads", "retries", "rate_limited")


@dataclass(frozen=True, slots=True)
class RunTimes:
    started_at: datetime
    finished_at: datetime
    exit_code: int


def summarize(
    job: str, totals: Totals, times: RunTimes, budget: float | None, unpriced: Iterable[str] = ()
) -> RunSummary:
    return RunSummary(
        job=job,
        started_at=times.started_at,
        finished_at=times.finished_at,
        items_total=totals.total,
        done=totals.count(ItemState.DONE),
        failed=totals.count(ItemState.FAILED),
        ambiguous=totals.count(ItemState.AMBIGUOUS),
        pending=totals.total - sum(totals.count(s) for s in _SETTLED),
        images=totals.images,
        cost_by_model=totals.cost_by_model,
        usage_by_model=totals.usage_by_model,
        requests={k: int(totals.counters.get(k, 0)) for k in REQUEST_COUNTERS},
        possible_duplicate_charges=int(totals.counters.get("possible_duplicate_charges", 0)),
        exit_code=times.exit_code,
        budget_usd=budget,
        unpriced_models=tuple(sorted(set(unpriced))),
    )


_SETTLED = (ItemState.DONE, ItemState.FAILED, ItemState.AMBIGUOUS)


def write_outputs(
    db: Path, out_dir: Path, make_summary: Callable[[Totals], RunSummary]
) -> RunSummary:
    """metadata.jsonl, failures.jsonl, index.html, report.json; blocking: run it in a thread.

    One pass over the items writes the first two and collects the gallery; the totals come after
    it, so the pass's image count spares them a join over every image.
    """
    with closing(connect_ro(db, owner=True)) as conn, _collector_paused():
        crashpoints.reach("during_outputs")
        written = write_item_outputs(out_dir, iter_output_items(conn), record_of)
        summary = make_summary(read_totals(conn, images=written.metadata_rows))
        write_page(out_dir, written.gallery, summary.job)
        write_report(out_dir, summary)
    return summary


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The pass allocates a few objects per row, millions in all, none of them in a cycle:
    reference counting frees them, and the cyclic collector would only rescan the process's
    heap every few hundred rows (~20% of a million-item pass)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
