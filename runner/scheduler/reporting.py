"""Writes every output file from the state DB alone, so `runner report` and a run agree."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runner import crashpoints
from runner.outputs import RunSummary, write_failures, write_gallery, write_metadata, write_report
from runner.store import connect_ro, iter_records, read_totals
from runner.store.readers import Totals
from runner.types import ItemRecord, ItemState

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
    """metadata.jsonl, failures.jsonl, index.html, report.json; blocking: run it in a thread."""
    with closing(connect_ro(db, owner=True)) as conn:
        totals = read_totals(conn)
        summary = make_summary(totals)

        def records() -> Iterator[ItemRecord]:
            return iter_records(conn)

        crashpoints.reach("during_outputs")
        write_metadata(out_dir, records())
        write_failures(out_dir, records())
        write_gallery(out_dir, summary, records())
        write_report(out_dir, summary)
    return summary


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
