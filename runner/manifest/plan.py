"""plan_job: what a job will make, cost and take, from counters only (no item list).

Every prompt meets every cell, and an estimate is ``fixed + text_tokens(prompt) x rate``, so a
cell's total is ``prompts x fixed + (sum of text tokens) x rate``, from the two numbers the
loader's single pass already counted. Planning a million items is arithmetic over cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.catalog import Mode
from runner.manifest.job import Job
from runner.manifest.plan_text import render_plan
from runner.manifest.variants import Cell

NO_SIZE = "-"  # by_size key for items sent without a size
# Planning assumptions where nothing better is known (see latency_s in models.yaml).
UNKNOWN_MODEL_LATENCY_S = 30.0
ASYNC_SUBMIT_S = 2.0  # one POST that creates a task
SIM_DEFAULTS = {"latency_s": 0.0, "task_seconds": 2.0}  # runner.sim's SimConfig defaults


@dataclass(frozen=True, slots=True)
class Tally:
    """Items, images and estimated cost of a part of a job (None: nothing in it is priced)."""

    items: int = 0
    images: int = 0
    est_cost_usd: float | None = None

    def plus(self, items: int, images: int, cost: float | None) -> Tally:
        total = self.est_cost_usd if cost is None else (self.est_cost_usd or 0.0) + cost
        return Tally(self.items + items, self.images + images, total)

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "images": self.images, "est_cost_usd": _usd(self.est_cost_usd)}


@dataclass(frozen=True)
class ModelPlan:
    """One model's share of a plan."""

    total: Tally
    done: int
    basis: str  # how its cost is estimated, e.g. "per image", "estimated from token table"
    unpriced_items: int
    by_size: Mapping[str, Tally] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return self.total.items - self.done

    def to_json(self) -> dict[str, Any]:
        by_size = {size: tally.to_json() for size, tally in self.by_size.items()}
        return {**self.total.to_json(), "by_size": by_size}


@dataclass(frozen=True)
class Plan:
    """What `runner plan` shows; ``to_json`` is the contract's `plan --json`."""

    name: str
    items: int
    images: int
    done: int
    remaining: int
    est_cost_usd: float  # every priced item of the job, done or not
    est_remaining_cost_usd: float  # the remaining share, model by model
    unpriced_models: tuple[str, ...]
    est_duration_s: float  # for the remaining items
    by_model: Mapping[str, ModelPlan]
    budget_usd: float | None = None
    concurrency: int = 0
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "images": self.images,
            "done": self.done,
            "remaining": self.remaining,
            "est_cost_usd": _usd(self.est_cost_usd),
            "unpriced_models": list(self.unpriced_models),
            "est_duration_s": round(self.est_duration_s, 1),
            "by_model": {model: plan.to_json() for model, plan in self.by_model.items()},
        }

    def render(self) -> str:
        """A table for people: items and images by model and size, cost, duration."""
        return render_plan(self)


def _usd(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def plan_job(job: Job, done_by_model: Mapping[str, int] | None = None) -> Plan:
    """Counts, cost and duration of ``job``; ``done_by_model`` comes from the state DB."""
    done_by_model = done_by_model or {}
    totals: dict[str, Tally] = {}
    sizes: dict[str, dict[str, Tally]] = {}
    unpriced: dict[str, int] = {}
    for cell in job.cells:
        items, images, cost = _cell_tally(job, cell)
        totals[cell.model] = totals.get(cell.model, Tally()).plus(items, images, cost)
        by_size = sizes.setdefault(cell.model, {})
        key = cell.size or NO_SIZE
        by_size[key] = by_size.get(key, Tally()).plus(items, images, cost)
        unpriced[cell.model] = unpriced.get(cell.model, 0) + (items if cost is None else 0)
    by_model = {
        model: ModelPlan(
            total=tally,
            done=min(max(done_by_model.get(model, 0), 0), tally.items),
            basis=job.pricer.basis(model),
            unpriced_items=unpriced[model],
            by_size=sizes[model],
        )
        for model, tally in totals.items()
    }
    return _plan(job, by_model)


def _cell_tally(job: Job, cell: Cell) -> tuple[int, int, float | None]:
    items = job.prompt_count * cell.repeats
    parts = job.pricer.estimate_parts(cell.model, cell.size, cell.params)
    if parts is None:
        return items, items * cell.images, None
    per_repeat = job.prompt_count * parts.fixed_usd + job.text_tokens * parts.usd_per_text_token
    return items, items * cell.images, cell.repeats * per_repeat


def _plan(job: Job, by_model: Mapping[str, ModelPlan]) -> Plan:
    items = sum(p.total.items for p in by_model.values())
    done = sum(p.done for p in by_model.values())
    return Plan(
        name=job.settings.name,
        items=items,
        images=sum(p.total.images for p in by_model.values()),
        done=done,
        remaining=items - done,
        est_cost_usd=sum(p.total.est_cost_usd or 0.0 for p in by_model.values()),
        est_remaining_cost_usd=sum(_remaining_cost(p) for p in by_model.values()),
        unpriced_models=tuple(m for m, p in by_model.items() if p.unpriced_items),
        est_duration_s=estimate_duration(job, by_model),
        by_model=by_model,
        budget_usd=job.settings.budget_usd,
        concurrency=job.settings.concurrency,
        warnings=job.warnings,
    )


def _remaining_cost(plan: ModelPlan) -> float:
    """The remaining items' share of a model's cost (done counts do not say which items)."""
    if not plan.total.items or plan.total.est_cost_usd is None:
        return 0.0
    return plan.total.est_cost_usd * plan.remaining / plan.total.items


def estimate_duration(job: Job, by_model: Mapping[str, ModelPlan]) -> float:
    """Seconds for the remaining items: the slowest of the bounds that apply.

    Bounds: POST slots (``concurrency`` requests in flight, each lasting a sync model's latency
    or an async submit), task slots (``max_pending_tasks`` async tasks at once), rate limits,
    and the longest single request. Retries and 429 slow-downs are not modelled.
    """
    settings = job.settings
    slot_work = task_work = tail = 0.0
    requests = images = 0.0
    for model, plan in by_model.items():
        if plan.remaining <= 0:
            continue
        latency, submit, is_async = _timing(job, model)
        requests += plan.remaining
        images += plan.remaining * plan.total.images / plan.total.items
        slot_work += plan.remaining * (submit if is_async else latency)
        task_work += plan.remaining * latency if is_async else 0.0
        tail = max(tail, latency + (submit if is_async else 0.0))
    bounds = [tail, slot_work / settings.concurrency, task_work / settings.max_pending_tasks]
    if settings.rate_limit.requests_per_minute:
        bounds.append(requests * 60.0 / settings.rate_limit.requests_per_minute)
    if settings.rate_limit.images_per_minute:
        bounds.append(images * 60.0 / settings.rate_limit.images_per_minute)
    return max(bounds)


def _timing(job: Job, model: str) -> tuple[float, float, bool]:
    """(latency or task duration, async submit time, is async) for one model."""
    cells = [c for c in job.cells if c.model == model]
    spec = cells[0].spec if cells else None
    asked = any(c.params.get("async") is True for c in cells)  # gateways' task mode on request
    is_async = asked or (spec is not None and spec.mode is Mode.ASYNC)
    latency = spec.latency_s if spec is not None else UNKNOWN_MODEL_LATENCY_S
    sim = job.settings.provider.sim
    if sim is None:
        return latency, ASYNC_SUBMIT_S, is_async
    sim_latency = float(sim.get("latency_s", SIM_DEFAULTS["latency_s"]))
    task = float(sim.get("task_seconds", SIM_DEFAULTS["task_seconds"]))
    return (task if is_async else sim_latency), sim_latency, is_async
