"""The Python API: what the `runner` command does, callable from a script or a notebook.

    from runner import plan, run, status
    print(plan("jobs/quickstart.yaml")["est_cost_usd"])
    result = run("jobs/quickstart.yaml", out="out/qs")
    assert result.exit_code == 0, result.report["items"]

Bad input raises :class:`UserError` (the CLI's exit code 2) before anything is sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from runner.manifest import Job, ManifestError, load_job
from runner.store import (
    STATE_DB,
    DirectoryLocked,
    SchemaTooNew,
    connect_ro,
    done_by_model,
    is_locked,
    read_totals,
)
from runner.store.readers import Totals

if TYPE_CHECKING:
    from runner.manifest import Plan

PathLike = str | os.PathLike[str]


class UserError(Exception):
    """Bad input (manifest, option, missing API key variable, busy directory); nothing was sent."""


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int  # the CLI's exit code (see README: 0 all done, 1 some failed, 3 budget, ...)
    output_dir: Path
    report: Mapping[str, Any]  # report.json as written
    reason: str | None = None  # why the run stopped early, when it did


def load(manifest: PathLike, *, out: PathLike | None = None) -> Job:
    """Loads and validates a manifest; every problem at once, as one UserError."""
    path = Path(manifest)
    if not path.is_file():
        raise UserError(f"{path}: no such job manifest")
    try:
        job = load_job(
            path, out_dir=Path(out) if out is not None else None, check_sim=_sim_problems
        )
    except ManifestError as exc:
        raise UserError(str(exc)) from None
    return job


def _sim_problems(options: Mapping[str, Any]) -> Iterable[tuple[str | None, str]]:
    # imported here: only a `provider: sim` manifest needs the simulator's option checks
    from runner.sim.config import option_problems

    return option_problems(options)


def sim_config(job: Job) -> Any:
    """The simulator's config for `provider: sim`, checked like the rest of the manifest."""
    if job.settings.provider.sim is None:
        return None
    from runner.sim import SimConfig, SimOptionError

    try:
        return SimConfig.from_options(job.settings.provider.sim)
    except SimOptionError as exc:
        raise UserError(f"{job.settings.manifest_path}: provider.sim: {exc}") from None


def api_key(env_name: str | None, where: str) -> str | None:
    if env_name is None:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise UserError(f"the API key variable {env_name} is not set ({where})")
    return key


@contextmanager
def endpoint(job: Job) -> Iterator[tuple[str, str | None]]:
    """The provider's base URL and key; for `provider: sim`, a simulator started for the run."""
    provider = job.settings.provider
    if provider.sim is None:
        where = f"provider.api_key_env in {job.settings.manifest_path}"
        yield provider.base_url, api_key(provider.api_key_env, where)
        return
    from runner.sim import SimServer

    with SimServer(sim_config(job)) as sim:
        yield sim.base_url, "sim-key"


def unpriced(job: Job) -> list[str]:
    return [m for m in job.models if not job.pricer.is_priced(m)]


def plan(manifest: PathLike, *, out: PathLike | None = None) -> dict[str, Any]:
    """`runner plan --json`: counts, done/remaining, estimated cost and duration."""
    return plan_of(load(manifest, out=out)).to_json()


def plan_of(job: Job) -> Plan:
    """The plan of a loaded job, with done/remaining from its state DB when there is one."""
    from runner.manifest import plan_job  # planning loads only for `plan` (see runner.manifest)

    return plan_job(job, _done_by_model(job.settings.output_dir))


def run(
    manifest: PathLike,
    *,
    out: PathLike | None = None,
    concurrency: int | None = None,
    budget_usd: float | None = None,
    limit: int | None = None,
    hold_ambiguous: bool = False,
    grace_s: float = 60.0,
    quiet: bool = True,
) -> RunResult:
    """`runner run`: runs or resumes the job; returns its exit code and report."""
    job = with_overrides(load(manifest, out=out), concurrency, budget_usd)
    return run_loaded(job, limit=limit, hold_ambiguous=hold_ambiguous, grace_s=grace_s, quiet=quiet)


def with_overrides(job: Job, concurrency: int | None, budget_usd: float | None) -> Job:
    if budget_usd is not None and (missing := unpriced(job)):
        names = ", ".join(missing)
        raise UserError(
            f"--budget: {names} has no price, so the budget cannot be kept (add it under `pricing`)"
        )
    settings = job.settings
    if concurrency is not None:
        settings = replace(settings, concurrency=concurrency)
    if budget_usd is not None:
        settings = replace(settings, budget_usd=budget_usd)
    return replace(job, settings=settings)


def run_loaded(
    job: Job, *, limit: int | None, hold_ambiguous: bool, grace_s: float, quiet: bool
) -> RunResult:
    from runner.scheduler import RunOptions, run_job  # only `run` pays for the HTTP stack

    out = job.settings.output_dir
    try:
        with endpoint(job) as (base_url, key):
            opts = RunOptions(
                base_url=base_url,
                api_key=key,
                limit=limit,
                hold_ambiguous=hold_ambiguous,
                grace_s=grace_s,
                quiet=quiet,
                unpriced_models=tuple(unpriced(job)),
            )
            end = anyio.run(run_job, job, opts)
    except (DirectoryLocked, SchemaTooNew) as exc:
        raise UserError(f"{out}: {exc}" if isinstance(exc, SchemaTooNew) else str(exc)) from None
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return RunResult(end.exit_code, out, report, end.reason)


def status(manifest: PathLike, *, out: PathLike | None = None) -> dict[str, Any]:
    """`runner status --json`: progress from the state DB; safe while a run is live."""
    return status_of(load(manifest, out=out))


def status_of(job: Job) -> dict[str, Any]:
    """Progress of a loaded job from its state DB."""
    totals = read_totals_of(job.settings.output_dir)
    if totals is None:
        raise UserError(f"{job.settings.output_dir}: no state DB yet (run the job first)")
    return status_json(totals, is_locked(job.settings.output_dir))


def status_json(t: Totals, running: bool) -> dict[str, Any]:
    items = {s: t.by_state.get(s, 0) for s in ("done", "failed", "ambiguous", "pending")}
    return {
        "items": {"total": t.total, **items, "in_flight": t.in_flight},
        "images": t.images,
        "cost_usd": round(sum(t.cost_by_model.values()), 8),
        "running": running,
    }


def read_totals_of(out: Path) -> Totals | None:
    db = out / STATE_DB
    if not db.exists():
        return None
    with closing(connect_ro(db)) as conn:
        return read_totals(conn)


def _done_by_model(out: Path) -> dict[str, int] | None:
    db = out / STATE_DB
    if not db.exists():
        return None
    with closing(connect_ro(db)) as conn:
        return done_by_model(conn)
