"""A Plan as a plain-text table (what `runner plan` prints without --json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.manifest.plan import ModelPlan, Plan, Tally

_HEADERS = ("model", "size", "items", "images", "est. cost", "done", "estimate")
_RIGHT = {2, 3, 4, 5}  # numeric columns


def render_plan(plan: Plan) -> str:
    """Items and images by model and size, done/remaining, cost (with its basis), duration."""
    rows = [row for model, mp in plan.by_model.items() for row in _model_rows(model, mp)]
    rows.append(
        (
            "total",
            "",
            f"{plan.items:,}",
            f"{plan.images:,}",
            _cost(plan.est_cost_usd),
            f"{plan.done:,}",
            "",
        )
    )
    lines = [
        f"Plan for {plan.name}: {plan.items:,} items, {plan.images:,} images; "
        f"{plan.done:,} done, {plan.remaining:,} remaining",
        "",
        *_table([_HEADERS, *rows]),
        "",
        _cost_line(plan),
    ]
    if plan.budget_usd is not None:
        lines.append(_budget_line(plan, plan.budget_usd))
    lines.append(
        f"Estimated duration: {_duration(plan.est_duration_s)} for the remaining items "
        f"(concurrency {plan.concurrency}; retries and rate-limit slow-downs not counted)"
    )
    if plan.warnings:
        lines += ["", "Warnings:", *(f"  - {w}" for w in plan.warnings)]
    return "\n".join(lines)


def _model_rows(model: str, mp: ModelPlan) -> list[tuple[str, ...]]:
    sizes = list(mp.by_size.items())
    rows = [_row(model if i == 0 else "", size, tally) for i, (size, tally) in enumerate(sizes)]
    first = rows[0]
    rows[0] = (*first[:5], f"{mp.done:,}", mp.basis)
    if len(sizes) > 1:
        rows.append(("", "(all sizes)", *_row("", "", mp.total)[2:5], "", ""))
    return rows


def _row(model: str, size: str, tally: Tally) -> tuple[str, ...]:
    return (model, size, f"{tally.items:,}", f"{tally.images:,}", _cost(tally.est_cost_usd), "", "")


def _cost(value: float | None) -> str:
    if value is None:
        return "unpriced"
    return f"${value:,.2f}" if value >= 0.995 or value == 0 else f"${value:.4f}"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    cells = (
        [
            cell.rjust(w) if i in _RIGHT else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        for row in rows
    )
    return ["  ".join(row).rstrip() for row in cells]


def _cost_line(plan: Plan) -> str:
    line = (
        f"Estimated cost: {_cost(plan.est_cost_usd)} for all items, "
        f"{_cost(plan.est_remaining_cost_usd)} for the {plan.remaining:,} remaining"
    )
    if plan.unpriced_models:
        line += f"; not counted (unpriced): {', '.join(plan.unpriced_models)}"
    return line


def _budget_line(plan: Plan, budget: float) -> str:
    if plan.est_remaining_cost_usd > budget:
        return (
            f"Budget: {_cost(budget)} is below the estimate: the run stops when spending "
            "reaches it (the budget counts spend across runs)"
        )
    return f"Budget: {_cost(budget)} (spend across runs and resumes)"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under 1s"
    if seconds < 60:
        return f"~{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"~{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"~{hours}h{minutes:02d}m"
