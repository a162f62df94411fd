"""B6 limits: run at the provider's limit and never past it, and sit out an outage.

Against a simulator that allows 10 generation requests/s (a token bucket; above it, 429 with
Retry-After), the runner must sustain >= 9 items/s with <= 1% of requests answered 429 when the
manifest says 600/min, and >= 8/s with <= 5% answered 429 when no limit is configured (it learns
one). With a 20 s outage (every API request 503) in the middle of a run, no item may fail.
Rates are measured over the steady part: from the 10th to the last item done.
"""

from __future__ import annotations

from bench.harness import (
    Context,
    SimOptions,
    SimProcess,
    done_times,
    expect_done,
    run_runner,
    write_job,
    write_prompts,
)
from bench.results import BenchResult, Figure, at_least, at_most

TITLE = "rate limits and outages"
LIMIT_RPS = 10.0
ITEMS, QUICK_ITEMS = 300, 120
OUTAGE_ITEMS, QUICK_OUTAGE_ITEMS = 400, 200
OUTAGE = (4.0, 20.0)  # starts 4 s after the simulator, lasts 20 s
BASE = """\
name: {name}
concurrency: 8
retry: {{max_attempts: 5}}
{extra}prompts:
  - file: prompts.txt
models:
  - name: dall-e-2
    sizes: [256x256]
    params: {{response_format: b64_json}}
"""


def _limited(ctx: Context, name: str, extra: str, items: int) -> tuple[float, float, int]:
    """Runs `items` against the 10/s simulator: (steady items/s, share of 429s, exit code)."""
    workdir = ctx.dir(f"b6-{name}")
    write_prompts(workdir / "prompts.txt", items, "a limited render number {i}")
    out = workdir / "out"
    with SimProcess(SimOptions(rps_limit=LIMIT_RPS), workdir / "logs") as sim:
        job = write_job(workdir / "job.yaml", sim.base_url, BASE.format(name=name, extra=extra))
        run_runner(job, out, workdir / "logs", name, timeout_s=600.0)
        stats = sim.stats()
    expect_done(out, items)
    times = done_times(out)
    steady = (len(times) - 10) / (times[-1] - times[9])
    limited = stats.by_status.get(429, 0)
    return steady, limited / max(1, stats.generations), stats.generations


def _outage(ctx: Context, items: int) -> tuple[int, int, float]:
    """A run across a 20 s outage: (items failed, items done, seconds from start to exit)."""
    workdir = ctx.dir("b6-outage")
    write_prompts(workdir / "prompts.txt", items, "an outage render number {i}")
    out = workdir / "out"
    options = SimOptions(latency_s=0.1, outage=OUTAGE)
    with SimProcess(options, workdir / "logs") as sim:
        job = write_job(workdir / "job.yaml", sim.base_url, BASE.format(name="outage", extra=""))
        proc = run_runner(job, out, workdir / "logs", "outage", timeout_s=600.0)
    report = expect_done(out, items)
    return report["items"]["failed"], report["items"]["done"], proc.wall_s


def run(ctx: Context) -> BenchResult:
    items = QUICK_ITEMS if ctx.quick else ITEMS
    paced, paced_429, paced_posts = _limited(
        ctx, "paced", "rate_limit: {requests_per_minute: 600}\n", items
    )
    learned, learned_429, learned_posts = _limited(ctx, "learned", "", items)
    failed, done, outage_s = _outage(ctx, QUICK_OUTAGE_ITEMS if ctx.quick else OUTAGE_ITEMS)
    return BenchResult(
        key="B6",
        title=TITLE,
        figures=(
            Figure("600/min configured: steady items/s", paced, "rate/s", at_least(9.0)),
            Figure("600/min configured: share answered 429", paced_429 * 100, "%", at_most(1.0)),
            Figure("no limit configured: steady items/s", learned, "rate/s", at_least(8.0)),
            Figure("no limit configured: share answered 429", learned_429 * 100, "%", at_most(5.0)),
            Figure("20 s outage: items failed", failed, "items", at_most(0)),
            Figure("20 s outage: run start to exit", outage_s, "s"),
        ),
        details={
            "items": items,
            "limit_rps": LIMIT_RPS,
            "posts": {"paced": paced_posts, "learned": learned_posts},
            "outage": {"start_s": OUTAGE[0], "duration_s": OUTAGE[1], "done": done},
        },
    )
