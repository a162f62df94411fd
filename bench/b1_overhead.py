"""B1 overhead: the runner against the afternoon script and the raw-aiohttp ceiling.

3,000 tiny sync items (dall-e-2 256x256, b64_json) at concurrency 64 against a zero-latency
simulator, so only client-side cost shows. Each contender runs as a child process and is timed
from spawn to exit; the three are interleaved, rotating who goes first, and each figure is the
median of its repetitions, so a noisy neighbour hurts all three alike. Before the first, B1
waits (bounded) until creating a file costs what it normally does: see bench/settle.py.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    KEY_ENV,
    BenchError,
    Context,
    ProcessRun,
    SimOptions,
    SimProcess,
    expect_done,
    python_module,
    run_process,
    run_runner,
    write_job,
    write_prompts,
)
from bench.results import BenchResult, Figure, at_least
from bench.settle import WAIT_LIMIT_S, settle

TITLE = "overhead"
CONCURRENCY = 64
ITEMS, QUICK_ITEMS = 3000, 600
REPEATS, QUICK_REPEATS = 5, 1
TEMPLATE = "a small flat test card number {i}"
JOB = f"""\
name: b1
concurrency: {CONCURRENCY}
prompts:
  - file: prompts.txt
models:
  - name: dall-e-2
    sizes: [256x256]
    params: {{response_format: b64_json}}
"""
GOAL_VS_NAIVE = 4.0
GOAL_VS_CEILING = 0.35


@dataclass(frozen=True)
class Setup:
    """What every contender is given: the same prompts, the same simulator."""

    sim: SimProcess
    prompts: Path
    job: Path
    items: int
    workdir: Path


def _runner(s: Setup, rep: int) -> ProcessRun:
    out = s.workdir / f"out-runner-{rep}"
    run = run_runner(s.job, out, s.workdir / "logs", f"runner-{rep}")
    expect_done(out, s.items)
    return run


def _naive(s: Setup, rep: int) -> ProcessRun:
    out = s.workdir / f"out-naive-{rep}"
    argv = python_module(
        "bench.naive", *_common_args(s), "--out", out, "--concurrency", str(CONCURRENCY)
    )
    run = run_process(argv, s.workdir / "logs", f"naive-{rep}", 300).check("bench.naive")
    written = sum(1 for _ in out.iterdir())
    if written != s.items:
        raise BenchError(f"the naive script wrote {written} files, expected {s.items}")
    return run


def _ceiling(s: Setup, rep: int) -> ProcessRun:
    argv = python_module("bench.ceiling", *_common_args(s), "--concurrency", str(CONCURRENCY))
    run = run_process(argv, s.workdir / "logs", f"ceiling-{rep}", 300).check("bench.ceiling")
    answered = json.loads(run.stdout)["answered"]
    if answered != s.items:
        raise BenchError(f"the ceiling client counted {answered} answers, expected {s.items}")
    return run


def _common_args(s: Setup) -> list[str | Path]:
    return ["--base-url", s.sim.base_url, "--prompts", s.prompts, "--api-key-env", KEY_ENV]


Contender = Callable[[Setup, int], ProcessRun]
CONTENDERS: tuple[tuple[str, Contender], ...] = (
    ("runner", _runner),
    ("naive", _naive),
    ("ceiling", _ceiling),
)


def _measure(s: Setup, name: str, contender: Contender, rep: int) -> dict[str, float]:
    """One contender's run, checked against what the simulator actually answered.

    What the previous contender left unwritten is flushed first, so nobody's sync pays for it.
    Outputs stay until the bench's temporary directory goes: on ext4, creating files soon after
    thousands were deleted costs several times more system time (the inode allocator skips
    recently freed inodes), which made whoever ran after a deletion pay for it.
    """
    os.sync()
    s.sim.reset()
    run = contender(s, rep)
    stats = s.sim.stats()
    if stats.generations != s.items or stats.by_status.get(200, 0) != s.items:
        raise BenchError(f"{name}: the simulator answered {dict(stats.by_status)}")
    return {
        "wall_s": run.wall_s,
        "user_s": run.user_s,
        "sys_s": run.sys_s,
        "cpu_s": run.cpu_s,
        "items_per_s": s.items / run.wall_s,
    }


def run(ctx: Context) -> BenchResult:
    items = QUICK_ITEMS if ctx.quick else ITEMS
    repeats = QUICK_REPEATS if ctx.quick else REPEATS
    workdir = ctx.dir("b1")
    prompts = write_prompts(workdir / "prompts.txt", items, TEMPLATE)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in CONTENDERS}
    settled = settle(workdir / "settle", limit_s=0 if ctx.quick else WAIT_LIMIT_S)
    print(
        f"bench: B1 file creation {settled.probe_us:.0f} us/file after {settled.waited_s:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    with SimProcess(SimOptions(), workdir / "logs") as sim:
        setup = Setup(
            sim, prompts, write_job(workdir / "job.yaml", sim.base_url, JOB), items, workdir
        )
        for rep in range(repeats):
            order = CONTENDERS[rep % 3 :] + CONTENDERS[: rep % 3]
            for name, contender in order:
                runs[name].append(_measure(setup, name, contender, rep))
    rate = {name: statistics.median(r["items_per_s"] for r in rs) for name, rs in runs.items()}
    cpu = {name: statistics.median(r["cpu_s"] for r in rs) for name, rs in runs.items()}
    return BenchResult(
        key="B1",
        title=TITLE,
        figures=_figures(rate, cpu),
        details={
            "items": items,
            "concurrency": CONCURRENCY,
            "repeats": repeats,
            "file_create_us": round(settled.probe_us, 1),
            "waited_for_disk_s": round(settled.waited_s, 1),
            "runs": runs,
        },
    )


def _figures(rate: dict[str, float], cpu: dict[str, float]) -> tuple[Figure, ...]:
    """The goals hold wall-clock rates; CPU time is shown too, as it moves less with load."""
    return (
        Figure("runner items/s, process start to exit (median)", rate["runner"], "items/s"),
        Figure("naive script items/s (median)", rate["naive"], "items/s"),
        Figure("raw aiohttp ceiling items/s (median)", rate["ceiling"], "items/s"),
        Figure("runner / naive", rate["runner"] / rate["naive"], "x", at_least(GOAL_VS_NAIVE)),
        Figure(
            "runner / ceiling", rate["runner"] / rate["ceiling"], "x", at_least(GOAL_VS_CEILING)
        ),
        Figure("naive CPU time / runner CPU time (median)", cpu["naive"] / cpu["runner"], "x"),
    )
