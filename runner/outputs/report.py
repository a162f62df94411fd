"""report.json: the run's bill and totals, the one output that records the latest run's times."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.outputs.atomic import write_atomic
from runner.types import JSON

REPORT_FILE = "report.json"
REQUEST_KINDS = ("generations", "polls", "downloads", "retries", "rate_limited")
COST_DECIMALS = 8


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What the scheduler knows at the end of a run (interrupted runs included)."""

    job: str
    started_at: datetime
    finished_at: datetime
    items_total: int
    done: int
    failed: int
    ambiguous: int
    pending: int
    images: int
    cost_by_model: Mapping[str, float]
    usage_by_model: Mapping[str, Mapping[str, int]]
    requests: Mapping[str, int]  # generations, polls, downloads, retries, rate_limited
    possible_duplicate_charges: int
    exit_code: int
    budget_usd: float | None = None
    unpriced_models: tuple[str, ...] = ()


def build_report(summary: RunSummary) -> JSON:
    """The report.json object: the contract's keys, then ``budget_usd`` and ``unpriced_models``."""
    elapsed = (summary.finished_at - summary.started_at).total_seconds()
    return {
        "job": summary.job,
        "started_at": summary.started_at.isoformat(),
        "finished_at": summary.finished_at.isoformat(),
        "elapsed_s": round(elapsed, 3),
        "items": {
            "total": summary.items_total,
            "done": summary.done,
            "failed": summary.failed,
            "ambiguous": summary.ambiguous,
            "pending": summary.pending,
        },
        "images": summary.images,
        "cost_usd": _cost(summary.cost_by_model),
        "usage": {
            model: dict(summary.usage_by_model[model]) for model in sorted(summary.usage_by_model)
        },
        "requests": _requests(summary.requests),
        "possible_duplicate_charges": summary.possible_duplicate_charges,
        "exit_code": summary.exit_code,
        "budget_usd": summary.budget_usd,
        "unpriced_models": sorted(summary.unpriced_models),
    }


def write_report(out_dir: Path, summary: RunSummary) -> None:
    """Write ``<out>/report.json`` atomically (indent 2, trailing newline)."""
    text = json.dumps(build_report(summary), indent=2, ensure_ascii=False) + "\n"
    write_atomic(out_dir / REPORT_FILE, text.encode("utf-8"))


def _cost(by_model: Mapping[str, float]) -> dict[str, Any]:
    """Totals rounded so float noise (0.1 + 0.2) does not show up in the bill."""
    total = sum(by_model.values())
    return {
        "total": round(total, COST_DECIMALS),
        "by_model": {model: round(by_model[model], COST_DECIMALS) for model in sorted(by_model)},
    }


def _requests(counts: Mapping[str, int]) -> dict[str, int]:
    """Every contract kind present (0 when the scheduler never counted it), extras kept after."""
    known = {kind: int(counts.get(kind, 0)) for kind in REQUEST_KINDS}
    extra = {kind: int(counts[kind]) for kind in sorted(counts) if kind not in known}
    return known | extra
