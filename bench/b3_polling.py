"""B3 polling: 1,000 async tasks of 3 s each, all done within 5 s of the first submission.

flux-pro is always async on the simulator; each task completes 3 s after it was created and its
image is then downloaded from a URL. The span is measured from the runner's first generation
POST (seen at the simulator) to the last item committed done (after its image file is written),
both on this machine's wall clock. Polls per task come from the runner's own report.json.
"""

from __future__ import annotations

from bench.harness import (
    BenchError,
    Context,
    FirstPost,
    SimOptions,
    SimProcess,
    done_times,
    expect_done,
    run_runner,
    write_job,
    write_prompts,
)
from bench.results import BenchResult, Figure, at_most

TITLE = "polling"
CONCURRENCY = 200
MAX_PENDING = 1000
TASK_SECONDS = 3.0
POLL_INTERVAL_S = 1.0
ITEMS, QUICK_ITEMS = 1000, 400
TEMPLATE = "an async test render number {i}"
JOB = f"""\
name: b3
concurrency: {CONCURRENCY}
max_pending_tasks: {MAX_PENDING}
poll: {{interval_s: {POLL_INTERVAL_S}}}
prompts:
  - file: prompts.txt
models:
  - name: flux-pro
    sizes: [1024x1024]
"""
GOAL_SPAN_S = 5.0
GOAL_POLLS_PER_TASK = 5.0


def run(ctx: Context) -> BenchResult:
    items = QUICK_ITEMS if ctx.quick else ITEMS
    workdir = ctx.dir("b3")
    write_prompts(workdir / "prompts.txt", items, TEMPLATE)
    out = workdir / "out"
    with SimProcess(SimOptions(task_seconds=TASK_SECONDS), workdir / "logs") as sim:
        job = write_job(workdir / "job.yaml", sim.base_url, JOB)
        with FirstPost(sim) as first:
            proc = run_runner(job, out, workdir / "logs", "runner")
        stats = sim.stats()
    if first.at is None:
        raise BenchError("never saw the runner's first POST at the simulator")
    report = expect_done(out, items)
    times = done_times(out)
    span = times[-1] - first.at
    polls = report["requests"]["polls"]
    return BenchResult(
        key="B3",
        title=TITLE,
        figures=(
            Figure("first POST to last image done", span, "s", at_most(GOAL_SPAN_S)),
            Figure(
                "polls per task (report.json)",
                polls / items,
                "polls/task",
                at_most(GOAL_POLLS_PER_TASK),
            ),
            Figure("process start to exit", proc.wall_s, "s"),
        ),
        details={
            "items": items,
            "concurrency": CONCURRENCY,
            "max_pending_tasks": MAX_PENDING,
            "task_seconds": TASK_SECONDS,
            "poll_interval_s": POLL_INTERVAL_S,
            "first_post_after_start_s": first.at - proc.started_at,
            "first_done_after_first_post_s": times[0] - first.at,
            "report_requests": report["requests"],
            "sim_counted": {
                "generations": stats.generations,
                "polls": stats.polls,
                "downloads": stats.downloads,
            },
            "cpu_s": proc.cpu_s,
        },
    )
