"""report.json: the contract's keys, totals, rounding, and an atomic write."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runner.outputs import RunSummary, build_report, write_report

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
REPORT_KEYS = [
    "job",
    "started_at",
    "finished_at",
    "elapsed_s",
    "items",
    "images",
    "cost_usd",
    "usage",
    "requests",
    "possible_duplicate_charges",
    "exit_code",
    "budget_usd",
    "unpriced_models",
]


def summary(**changes: object) -> RunSummary:
    base = RunSummary(
        job="cats-v1",
        started_at=START,
        finished_at=START + timedelta(seconds=83, microseconds=456_789),
        items_total=10,
        done=6,
        failed=2,
        ambiguous=1,
        pending=1,
        images=7,
        cost_by_model={"gpt-image-1": 0.2, "dall-e-3": 0.1},
        usage_by_model={"gpt-image-1": {"input_tokens": 20, "output_tokens": 8320}},
        requests={"generations": 12, "polls": 30, "downloads": 7, "retries": 3, "rate_limited": 1},
        possible_duplicate_charges=1,
        exit_code=1,
        budget_usd=25.0,
        unpriced_models=("flux-x", "abc"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_build_report_keys_and_values() -> None:
    """Every contract key, in order, with the summary's values and derived totals."""
    report = build_report(summary())
    assert list(report) == REPORT_KEYS
    assert report == {
        "job": "cats-v1",
        "started_at": "2024-05-01T12:00:00+00:00",
        "finished_at": "2024-05-01T12:01:23.456789+00:00",
        "elapsed_s": 83.457,
        "items": {"total": 10, "done": 6, "failed": 2, "ambiguous": 1, "pending": 1},
        "images": 7,
        "cost_usd": {"total": 0.3, "by_model": {"dall-e-3": 0.1, "gpt-image-1": 0.2}},
        "usage": {"gpt-image-1": {"input_tokens": 20, "output_tokens": 8320}},
        "requests": {
            "generations": 12,
            "polls": 30,
            "downloads": 7,
            "retries": 3,
            "rate_limited": 1,
        },
        "possible_duplicate_charges": 1,
        "exit_code": 1,
        "budget_usd": 25.0,
        "unpriced_models": ["abc", "flux-x"],
    }


def test_build_report_fills_missing_request_kinds_and_keeps_extras() -> None:
    """Request kinds the scheduler never counted read 0; extra counters are kept after them."""
    report = build_report(summary(requests={"generations": 4, "cancels": 2}))
    assert report["requests"] == {
        "generations": 4,
        "polls": 0,
        "downloads": 0,
        "retries": 0,
        "rate_limited": 0,
        "cancels": 2,
    }


def test_build_report_empty_run() -> None:
    """A run with nothing priced and no budget: zero total, empty maps, null budget."""
    report = build_report(
        summary(cost_by_model={}, usage_by_model={}, budget_usd=None, unpriced_models=())
    )
    assert report["cost_usd"] == {"total": 0, "by_model": {}}
    assert (report["usage"], report["budget_usd"], report["unpriced_models"]) == ({}, None, [])


def test_write_report_is_json_with_indent_and_newline(tmp_path: Path) -> None:
    """report.json parses back to build_report's object, indented by 2, ending in a newline."""
    write_report(tmp_path, summary())
    text = (tmp_path / "report.json").read_text(encoding="utf-8")
    assert json.loads(text) == build_report(summary())
    assert text.startswith('{\n  "job": "cats-v1",')
    assert text.endswith("}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_write_report_records_the_latest_run(tmp_path: Path) -> None:
    """A later run's report replaces the earlier one (its times differ)."""
    write_report(tmp_path, summary())
    later = summary(finished_at=START + timedelta(hours=1), exit_code=0)
    write_report(tmp_path, later)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert (report["elapsed_s"], report["exit_code"]) == (3600.0, 0)
