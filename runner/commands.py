"""What each `runner` subcommand does, once its flags are parsed.

User errors are raised as :class:`UserError` (one line each) and become exit code 2 in the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from runner.manifest import Job, ManifestError, json_schema, load_job, plan_job
from runner.outputs.atomic import sweep_temp_files
from runner.scheduler import RunOptions, run_job
from runner.scheduler.reporting import RunTimes, summarize, utc_now, write_outputs
from runner.scheduler.run import STATE_DB
from runner.store import DirectoryLocked, DirLock, connect_ro, done_by_model, is_locked, open_store
from runner.store.readers import Totals, read_totals

OPENAI_BASE_URL = "https://api.openai.com/v1"


class UserError(Exception):
    """Bad input: printed as one line per problem, exit code 2, nothing sent."""


def dispatch(args: argparse.Namespace) -> int:
    handler = _COMMANDS[args.command]
    return handler(args)


# -- loading ------------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Job:
    path = Path(args.job)
    if not path.is_file():
        raise UserError(f"{path}: no such job manifest")
    try:
        job = load_job(path, out_dir=Path(args.out) if getattr(args, "out", None) else None)
    except ManifestError as exc:
        raise UserError(str(exc)) from None
    _sim_config(job)  # a bad simulator option is bad input too, for plan as for run
    return job


def _sim_config(job: Job) -> Any:
    """The simulator's config for `provider: sim`, checked like the rest of the manifest."""
    if job.settings.provider.sim is None:
        return None
    from runner.sim import SimConfig, SimOptionError

    try:
        return SimConfig.from_options(job.settings.provider.sim)
    except SimOptionError as exc:
        raise UserError(f"{job.settings.manifest_path}: provider.sim: {exc}") from None


def _with_overrides(job: Job, args: argparse.Namespace) -> Job:
    settings = job.settings
    if args.concurrency is not None:
        settings = replace(settings, concurrency=args.concurrency)
    if args.budget is not None:
        settings = replace(settings, budget_usd=args.budget)
    return replace(job, settings=settings)


def _api_key(env_name: str | None, where: str) -> str | None:
    if env_name is None:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise UserError(f"the API key variable {env_name} is not set ({where})")
    return key


@contextmanager
def _endpoint(job: Job) -> Iterator[tuple[str, str | None]]:
    """The provider's base URL and key; for `provider: sim`, a simulator started for the run."""
    provider = job.settings.provider
    if provider.sim is None:
        where = f"provider.api_key_env in {job.settings.manifest_path}"
        yield provider.base_url, _api_key(provider.api_key_env, where)
        return
    from runner.sim import SimServer

    with SimServer(_sim_config(job)) as sim:
        yield sim.base_url, "sim-key"


def _print_warnings(job: Job) -> None:
    for warning in job.warnings:
        print(f"runner: warning: {warning}", file=sys.stderr)


# -- commands -----------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace) -> int:
    job = _load(args)
    _print_warnings(job)
    plan = plan_job(job, _done_by_model(job.settings.output_dir))
    print(json.dumps(plan.to_json(), indent=2) if args.json else plan.render())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    job = _with_overrides(_load(args), args)
    _print_warnings(job)
    out = job.settings.output_dir
    try:
        with _endpoint(job) as (base_url, key):
            opts = RunOptions(
                base_url=base_url,
                api_key=key,
                limit=args.limit,
                hold_ambiguous=args.on_ambiguous == "hold",
                grace_s=args.grace,
                quiet=args.quiet,
                unpriced_models=tuple(_unpriced(job)),
            )
            code = anyio.run(run_job, job, opts)
    except DirectoryLocked as exc:
        raise UserError(str(exc)) from None
    print(_outputs_line(out), file=sys.stderr)
    return code


def _unpriced(job: Job) -> list[str]:
    return [m for m in job.models if not job.pricer.is_priced(m)]


def _outputs_line(out: Path) -> str:
    names = ["images/", "metadata.jsonl", "failures.jsonl", "report.json", "index.html"]
    return "outputs: " + "  ".join(str(out / n) for n in names)


def cmd_status(args: argparse.Namespace) -> int:
    job = _load(args)
    out = job.settings.output_dir
    totals = _read_totals(out)
    running = is_locked(out)
    if totals is None:
        raise UserError(f"{out}: no state DB yet (run the job first)")
    status = _status_json(totals, running)
    print(json.dumps(status, indent=2) if args.json else _render_status(job.settings.name, status))
    return 0


def _status_json(t: Totals, running: bool) -> dict[str, Any]:
    items = {s: t.by_state.get(s, 0) for s in ("done", "failed", "ambiguous", "pending")}
    return {
        "items": {"total": t.total, **items, "in_flight": t.in_flight},
        "images": t.images,
        "cost_usd": round(sum(t.cost_by_model.values()), 8),
        "running": running,
    }


def _render_status(name: str, s: dict[str, Any]) -> str:
    i = s["items"]
    state = "running" if s["running"] else "not running"
    return (
        f"{name}: {state}\n"
        f"  items: {i['done']}/{i['total']} done, {i['failed']} failed, {i['ambiguous']} ambiguous,"
        f" {i['in_flight']} in flight, {i['pending']} pending\n"
        f"  images: {s['images']}  cost: ${s['cost_usd']:.4f}"
    )


def cmd_retry(args: argparse.Namespace) -> int:
    job = _load(args)
    which = "failed" if args.failed else "ambiguous" if args.ambiguous else "item"
    out = job.settings.output_dir
    if not (out / STATE_DB).exists():
        raise UserError(f"{out}: no state DB yet (run the job first)")

    async def go() -> int:
        async with open_store(out / STATE_DB) as store:
            return await store.retry(which, args.item)

    try:
        with DirLock(out):
            count = anyio.run(go)
    except DirectoryLocked as exc:
        raise UserError(str(exc)) from None
    if which == "item" and count == 0:
        raise UserError(f"item {args.item}: no failed or ambiguous item with that id")
    print(f"{count} item(s) back to pending; `runner run {args.job}` sends them")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    job = _load(args)
    out = job.settings.output_dir
    if not (out / STATE_DB).exists():
        raise UserError(f"{out}: no state DB yet (run the job first)")
    times = _last_run_times(out / STATE_DB)
    s, unpriced = job.settings, _unpriced(job)
    try:
        with DirLock(out):
            sweep_temp_files(out)
            write_outputs(
                out / STATE_DB, out, lambda t: summarize(s.name, t, times, s.budget_usd, unpriced)
            )
    except DirectoryLocked as exc:
        raise UserError(str(exc)) from None
    print(_outputs_line(out))
    return 0


def _last_run_times(db: Path) -> RunTimes:
    with closing(connect_ro(db)) as conn:
        row = conn.execute(
            "SELECT started_at, finished_at, exit_code FROM runs ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
    if row is None:
        now = utc_now()
        return RunTimes(now, now, 0)
    started = datetime.fromisoformat(row[0])
    finished = datetime.fromisoformat(row[1]) if row[1] else datetime.now(UTC)
    return RunTimes(started, finished, row[2] if row[2] is not None else 1)


def _read_totals(out: Path) -> Totals | None:
    db = out / STATE_DB
    if not db.exists():
        return None
    with closing(connect_ro(db)) as conn:
        return read_totals(conn)


def _done_by_model(out: Path) -> dict[str, int] | None:
    db = out / STATE_DB
    if not db.exists():
        return None
    try:
        with closing(connect_ro(db)) as conn:
            return done_by_model(conn)
    except sqlite3.Error:
        return None


def cmd_models(args: argparse.Namespace) -> int:
    from runner.client import ProviderClient

    base_url = args.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
    key = _api_key(args.api_key_env, "--api-key-env")

    async def go() -> list[dict[str, Any]]:
        async with ProviderClient(base_url, key, timeout_s=30.0) as client:
            return await client.list_models()

    models = anyio.run(go)
    if args.json:
        print(json.dumps(models, indent=2))
    else:
        for m in models:
            print(f"{m.get('id', '?'):40} {m.get('owned_by', '')}")
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    from runner.sim import SimConfig, SimOptionError, serve_forever

    options = {
        "seed": args.seed,
        "latency_s": args.latency,
        "task_seconds": args.task_seconds,
        "fail_rate": args.fail_rate,
    }
    try:
        config = SimConfig.from_options(options)
    except SimOptionError as exc:
        raise UserError(str(exc).replace("sim option 'fail_rate'", "--fail-rate")) from None
    serve_forever(config, host=args.host, port=args.port)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


_COMMANDS = {
    "plan": cmd_plan,
    "run": cmd_run,
    "status": cmd_status,
    "retry": cmd_retry,
    "report": cmd_report,
    "models": cmd_models,
    "sim": cmd_sim,
    "schema": cmd_schema,
}
