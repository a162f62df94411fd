"""What each `runner` subcommand does, once its flags are parsed.

User errors are raised as :class:`runner.api.UserError` (one line each) and become exit code 2
in the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from runner import api
from runner.api import UserError
from runner.manifest import Job, json_schema
from runner.outputs.atomic import sweep_temp_files
from runner.store import STATE_DB, DirectoryLocked, DirLock, connect_ro, open_store
from runner.store.readers import last_run

if TYPE_CHECKING:
    from runner.scheduler.reporting import RunTimes

OPENAI_BASE_URL = "https://api.openai.com/v1"


def dispatch(args: argparse.Namespace) -> int:
    handler = _COMMANDS[args.command]
    return handler(args)


def _load(args: argparse.Namespace) -> Job:
    return api.load(args.job, out=getattr(args, "out", None))


def _print_warnings(job: Job) -> None:
    for warning in job.warnings:
        print(f"runner: warning: {warning}", file=sys.stderr)


# -- commands -----------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace) -> int:
    job = _load(args)
    _print_warnings(job)
    plan = api.plan_of(job)
    print(json.dumps(plan.to_json(), indent=2) if args.json else plan.render())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    job = api.with_overrides(_load(args), args.concurrency, args.budget)
    _print_warnings(job)
    result = api.run_loaded(
        job,
        limit=args.limit,
        hold_ambiguous=args.on_ambiguous == "hold",
        grace_s=args.grace,
        quiet=args.quiet,
    )
    print(_outputs_line(result.output_dir), file=sys.stderr)
    if result.reason:
        print(f"runner: {result.reason}", file=sys.stderr)
    return result.exit_code


def _outputs_line(out: Path) -> str:
    names = ["images/", "metadata.jsonl", "failures.jsonl", "report.json", "index.html"]
    return "outputs: " + "  ".join(str(out / n) for n in names)


def cmd_status(args: argparse.Namespace) -> int:
    job = _load(args)
    status = api.status_of(job)  # the manifest is loaded once, not again inside api.status
    print(json.dumps(status, indent=2) if args.json else _render_status(job.settings.name, status))
    return 0


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
    from runner.scheduler.reporting import summarize, write_outputs

    job = _load(args)
    out = job.settings.output_dir
    if not (out / STATE_DB).exists():
        raise UserError(f"{out}: no state DB yet (run the job first)")
    times = _last_run_times(out / STATE_DB)
    s, unpriced = job.settings, api.unpriced(job)
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
    from runner.scheduler.reporting import RunTimes, utc_now

    with closing(connect_ro(db)) as conn:
        row = last_run(conn)
    if row is None:
        now = utc_now()
        return RunTimes(now, now, 0)
    started = datetime.fromisoformat(row[0])
    finished = datetime.fromisoformat(row[1]) if row[1] else datetime.now(UTC)
    return RunTimes(started, finished, row[2] if row[2] is not None else 1)


def cmd_models(args: argparse.Namespace) -> int:
    from runner.client import ProviderClient

    base_url = args.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
    key = api.api_key(args.api_key_env, "--api-key-env")

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
        "rps_limit": args.rps_limit,
        "outage_start_s": args.outage_start,
        "outage_duration_s": args.outage_duration,
        "seed": args.seed,
        "latency_s": args.latency,
        "task_seconds": args.task_seconds,
        "fail_rate": args.fail_rate,
    }
    try:
        config = SimConfig.from_options({k: v for k, v in options.items() if v is not None})
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
