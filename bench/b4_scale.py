"""B4 scale: plan a 1,000,000-item job, and resume one with 999,000 items already done.

The plan is `runner plan --json` of 100,000 prompts x 10 models, timed and measured (peak RSS
of that child alone, from os.wait4) from spawn to exit.

The resume state is built without generating 999,000 images: one `runner run --limit 1` creates
the state DB (every item recorded, the manifest's fingerprint with them), then one SQL UPDATE
marks items done up to 999,000, and `runner run` starts again. The figure is the time from
spawning that process to the simulator answering its first generation POST: the median over
resumes killed at that moment (the DB restored after each) and a last one left to finish.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    BenchError,
    Context,
    FirstPost,
    ProcessRun,
    SimOptions,
    SimProcess,
    expect_done,
    python_module,
    run_process,
    run_runner,
    spawn,
    write_job,
    write_prompts,
)
from bench.results import BenchResult, Figure, at_most
from runner.manifest.bench import BENCH_MODELS

TITLE = "scale"
PROMPTS, QUICK_PROMPTS = 100_000, 10_000
LEFT = 1000  # items the resume still has to do
TEMPLATE = "a photo of subject {i}, soft light, 35mm, detailed"
MODELS = "\n".join(f"  - {{name: {m}, sizes: [{s}]}}" for m, s in BENCH_MODELS)
JOB = f"""\
name: b4
concurrency: 64
poll: {{interval_s: 0.2}}
prompts:
  - file: prompts.txt
models:
{MODELS}
"""
TASK_SECONDS = 0.2  # async models among the last 1,000 items finish quickly
GOAL_PLAN_S = 30.0
GOAL_PLAN_RSS_MB = 400.0
GOAL_FIRST_REQUEST_S = 3.0
SETUP_TIMEOUT_S = 600.0
FIRST_POST_TIMEOUT_S = 120.0
# Resumes killed at their first POST (then the DB is restored), before one that runs to the end:
# the figure is the median of them all, as one start-up on a busy machine can be slow.
KILLED_RESUMES, QUICK_KILLED_RESUMES = 2, 1


def plan(job: Path, out: Path, logs: Path, items: int) -> ProcessRun:
    """`runner plan --json`, checked to count every item."""
    argv = python_module("runner", "plan", job, "--out", out, "--json")
    proc = run_process(argv, logs, "plan", 300).check("runner plan")
    planned = json.loads(proc.stdout)["items"]
    if planned != items:
        raise BenchError(f"runner plan counted {planned} items, expected {items}")
    return proc


def mark_done(db: Path, done: int) -> int:
    """Marks the first ``done`` items (manifest order) done in one UPDATE; returns done count."""
    with closing(sqlite3.connect(db)) as conn:
        if conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone() is None:
            raise BenchError("the setup run recorded no manifest fingerprint")
        with conn:
            conn.execute(
                "UPDATE items SET state = 'done', finished_at = '2026-01-01T00:00:00Z', "
                "updated_at = 0 WHERE seq < ? AND state = 'pending'",
                (done,),
            )
        return int(conn.execute("SELECT COUNT(*) FROM items WHERE state = 'done'").fetchone()[0])


def restore(snapshot: Path, db: Path) -> None:
    """Puts the state DB back as it was before a killed resume (no WAL: it was closed clean)."""
    shutil.copyfile(snapshot, db)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def first_request_then_kill(sim: SimProcess, job: Path, out: Path, logs: Path, name: str) -> float:
    """Seconds from spawning `runner run` to its first POST; the run is then killed."""
    argv = python_module("runner", "run", job, "--out", out, "--quiet")
    sim.reset()
    with FirstPost(sim) as first:
        started = time.time()
        with spawn(argv, logs, name) as proc:
            at = first.wait(FIRST_POST_TIMEOUT_S)
            proc.kill()
    return at - started


@dataclass(frozen=True)
class Resumed:
    setup: ProcessRun
    first_request_s: tuple[float, ...]  # killed tries, then the run to the end
    final: ProcessRun


def resume(job: Path, out: Path, logs: Path, total: int, tries: int) -> Resumed:
    """Setup run, mark done, ``tries`` resumes killed at their first POST, one to the end."""
    db = out / "state.sqlite"
    snapshot = out.parent / "resume-start.sqlite"
    with SimProcess(SimOptions(task_seconds=TASK_SECONDS), logs) as sim:
        write_job(job, sim.base_url, JOB)  # same base URL throughout: same fingerprint
        setup = run_runner(job, out, logs, "setup", "--limit", "1", timeout_s=SETUP_TIMEOUT_S)
        done = mark_done(db, total - LEFT)
        if done != total - LEFT:
            raise BenchError(f"{done} items done after the UPDATE, expected {total - LEFT}")
        shutil.copyfile(db, snapshot)
        firsts = []
        for attempt in range(tries):
            firsts.append(first_request_then_kill(sim, job, out, logs, f"resume-killed-{attempt}"))
            restore(snapshot, db)
        sim.reset()
        with FirstPost(sim) as first:
            final = run_runner(job, out, logs, "resume", timeout_s=SETUP_TIMEOUT_S)
    expect_done(out, total)
    firsts.append(first.wait(0) - final.started_at)
    return Resumed(setup, tuple(firsts), final)


def run(ctx: Context) -> BenchResult:
    prompts = QUICK_PROMPTS if ctx.quick else PROMPTS
    total = prompts * len(BENCH_MODELS)
    workdir = ctx.dir("b4")
    logs = workdir / "logs"
    write_prompts(workdir / "prompts.txt", prompts, TEMPLATE)
    job = write_job(workdir / "job.yaml", "http://127.0.0.1:9/v1", JOB)  # plan sends nothing
    planned = plan(job, workdir / "out", logs, total)
    tries = QUICK_KILLED_RESUMES if ctx.quick else KILLED_RESUMES
    resumed = resume(job, workdir / "out", logs, total, tries)
    first_request_s = statistics.median(resumed.first_request_s)
    return BenchResult(
        key="B4",
        title=TITLE,
        figures=(
            Figure(f"plan {total:,} items: wall time", planned.wall_s, "s", at_most(GOAL_PLAN_S)),
            Figure("plan: peak RSS", planned.peak_rss_mb, "MB", at_most(GOAL_PLAN_RSS_MB)),
            Figure(
                f"resume ({total - LEFT:,} done): start to first request (median)",
                first_request_s,
                "s",
                at_most(GOAL_FIRST_REQUEST_S),
            ),
            Figure(f"resume: start to exit ({LEFT:,} items run)", resumed.final.wall_s, "s"),
            Figure("setup (run --limit 1): start to exit", resumed.setup.wall_s, "s"),
        ),
        details={
            "items": total,
            "prompts": prompts,
            "models": [m for m, _ in BENCH_MODELS],
            "plan": {
                "wall_s": planned.wall_s,
                "cpu_s": planned.cpu_s,
                "peak_rss_mb": planned.peak_rss_mb,
            },
            "setup": {"wall_s": resumed.setup.wall_s, "peak_rss_mb": resumed.setup.peak_rss_mb},
            "resume": {
                "wall_s": resumed.final.wall_s,
                "cpu_s": resumed.final.cpu_s,
                "peak_rss_mb": resumed.final.peak_rss_mb,
                "first_request_s": list(resumed.first_request_s),
            },
        },
    )
