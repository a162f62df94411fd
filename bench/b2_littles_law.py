"""B2 Little's law: with latency L and concurrency C the runner should sustain C/L items/s.

2,000 items, concurrency 200, a simulator that answers each POST after 1 s: the ideal is
200 items/s. The goal applies to the steady state, measured from the runner's own records (when
each item was committed done), leaving out the ramp-up and the drain at the ends.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.harness import (
    BenchError,
    Context,
    SimOptions,
    SimProcess,
    done_times,
    expect_done,
    run_runner,
    write_job,
    write_prompts,
)
from bench.results import BenchResult, Figure, at_least

TITLE = "Little's law"
CONCURRENCY = 200
LATENCY_S = 1.0
ITEMS, QUICK_ITEMS = 2000, 1000
TEMPLATE = "a small flat test card number {i}, slow provider"
JOB = f"""\
name: b2
concurrency: {CONCURRENCY}
prompts:
  - file: prompts.txt
models:
  - name: dall-e-2
    sizes: [256x256]
    params: {{response_format: b64_json}}
"""
GOAL_EFFICIENCY = 0.9


def steady_rate(times: Sequence[float], window: int) -> float:
    """Completions per second between the ``window``-th and the (n - ``window``)-th completion.

    At most ``window`` (= concurrency) items are in flight, so the first ``window`` completions
    include the ramp-up and the last ``window`` the drain. Counting from the first completion to
    the last instead would overstate the rate when completions come in waves: with 10 waves of
    200 it divides 1,999 items by the 9 s between the first wave and the last.
    """
    n = len(times)
    if n <= 2 * window:
        raise BenchError(f"need more than {2 * window} completions, got {n}")
    start, end = times[window - 1], times[n - window - 1]
    if end <= start:
        raise BenchError("completion times do not advance")
    return (n - 2 * window) / (end - start)


def run(ctx: Context) -> BenchResult:
    items = QUICK_ITEMS if ctx.quick else ITEMS
    workdir = ctx.dir("b2")
    write_prompts(workdir / "prompts.txt", items, TEMPLATE)
    out = workdir / "out"
    with SimProcess(SimOptions(latency_s=LATENCY_S), workdir / "logs") as sim:
        job = write_job(workdir / "job.yaml", sim.base_url, JOB)
        proc = run_runner(job, out, workdir / "logs", "runner")
    expect_done(out, items)
    times = done_times(out)
    ideal = CONCURRENCY / LATENCY_S
    steady = steady_rate(times, CONCURRENCY)
    end_to_end = items / proc.wall_s
    return BenchResult(
        key="B2",
        title=TITLE,
        figures=(
            Figure("steady-state items/s", steady, "items/s"),
            Figure(
                "steady-state efficiency (rate / (C/L))",
                steady / ideal,
                "",
                at_least(GOAL_EFFICIENCY),
            ),
            Figure("end-to-end items/s, process start to exit", end_to_end, "items/s"),
            Figure("end-to-end efficiency", end_to_end / ideal, ""),
        ),
        details={
            "items": items,
            "concurrency": CONCURRENCY,
            "latency_s": LATENCY_S,
            "ideal_items_per_s": ideal,
            "wall_s": proc.wall_s,
            "cpu_s": proc.cpu_s,
            "first_done_after_start_s": times[0] - proc.started_at,
            "last_done_after_start_s": times[-1] - proc.started_at,
            "first_to_last_items_per_s": (len(times) - 1) / (times[-1] - times[0]),
        },
    )
