"""One `runner run`: lock the output directory, sync the manifest, drive items, write outputs.

Memory stays flat however large the job: pending items are paged from the DB in manifest order and
only a bounded window of them is live at once.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup

from runner.client import ProviderClient
from runner.client.remote import ProcessTransport
from runner.log import RunLog, open_run_log
from runner.outputs import ProgressDisplay, ProgressSnapshot, RunSummary
from runner.outputs.atomic import sweep_temp_files
from runner.scheduler.engine import Engine
from runner.scheduler.feed import drive_all
from runner.scheduler.files import IMAGES_DIR, open_image_writer
from runner.scheduler.live import Pricing, RunControl
from runner.scheduler.reporting import RunTimes, summarize, utc_now, write_outputs
from runner.store import STATE_DB, DirLock, Store, open_store
from runner.store.readers import Totals
from runner.types import JobSettings

RUN_LOG = "run.log"
PROGRESS_EVERY_S = 0.5  # also how often request counters reach the DB


class JobLike(Protocol):
    """What a run needs of a loaded manifest (runner.manifest.Job satisfies it)."""

    @property
    def settings(self) -> JobSettings: ...

    @property
    def pricer(self) -> Pricing: ...

    @property
    def fingerprint(self) -> str: ...

    def iter_items(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class RunEnd:
    """How a run ended: its exit code and, when it stopped early, why, in one line."""

    exit_code: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunOptions:
    base_url: str
    api_key: str | None
    limit: int | None = None  # submit at most this many new items this run
    hold_ambiguous: bool = False
    grace_s: float = 60.0  # after a stop signal, how long requests in flight may finish
    quiet: bool = False
    unpriced_models: tuple[str, ...] = ()


async def run_job(job: JobLike, opts: RunOptions) -> RunEnd:
    """Runs (or resumes) a job to its end; returns the contract's exit code and why."""
    settings = job.settings
    out = settings.output_dir
    with DirLock(out):
        for directory in (out, out / IMAGES_DIR):
            sweep_temp_files(directory)  # left by a writer killed mid-write
        started = utc_now()
        ctl = RunControl(settings, job.pricer, hold_ambiguous=opts.hold_ambiguous)
        async with open_store(out / STATE_DB) as store:
            await store.sync_items(job.iter_items(), job.fingerprint)
            await store.recover_submitting(hold=opts.hold_ambiguous)
            run_id = await store.start_run(started.isoformat(), os.getpid())
            ctl.spent, ctl.reserved = await store.spend()
            with open_run_log(out / RUN_LOG) as log:
                store.on_change = lambda item_id, state: log.event(
                    "state", item_id=item_id, state=state
                )
                log.event("run_start", job=settings.name, run_id=run_id, pid=os.getpid())
                engine = await _drive_all(store, ctl, opts, log)
                store.on_change = None
                exit_code = await _exit_code(store, ctl)
                log.event(
                    "run_end", run_id=run_id, exit_code=exit_code, reason=_reason(ctl, exit_code)
                )
            await store.finish_run(run_id, utc_now().isoformat(), exit_code)
            await store.bump(engine.counters.unflushed())
        times = RunTimes(started, utc_now(), exit_code)
        await _write_outputs(job, opts, times)
    return RunEnd(exit_code, _reason(ctl, exit_code))


async def _drive_all(store: Store, ctl: RunControl, opts: RunOptions, log: RunLog) -> Engine:
    s = ctl.settings
    async with (
        ProviderClient(
            opts.base_url,
            opts.api_key,
            timeout_s=s.provider.timeout_s,
            headers=s.provider.headers,
            max_connections=s.concurrency + s.poll.concurrency + s.download.concurrency,
            max_download_bytes=s.download.max_bytes,
            transport=ProcessTransport(
                timeout_s=s.provider.timeout_s,
                max_connections=s.concurrency + s.poll.concurrency + s.download.concurrency,
            ),
        ) as client,
        open_image_writer(s.output_dir) as images,
    ):
        engine = Engine(store, client, ctl, images, log)
        with ProgressDisplay(quiet=opts.quiet) as display:
            progress = _Progress(engine, display, await store.count_states())
            async with anyio.create_task_group() as outer:
                outer.start_soon(_watch_signals, ctl, outer, opts.grace_s)
                outer.start_soon(progress.loop, store)
                await drive_all(store, engine, _live_items(s), opts.limit)
                outer.cancel_scope.cancel()
            progress.show()
    return engine


def _live_items(s: JobSettings) -> int:
    """How many items may be live at once: enough to keep every send slot and task slot busy
    while others are being recorded or waiting to retry, few enough to keep memory flat."""
    return max(4 * s.concurrency, s.concurrency + s.max_pending_tasks)


async def _watch_signals(ctl: RunControl, scope_owner: TaskGroup, grace_s: float) -> None:
    """First SIGINT/SIGTERM: stop sending, let requests in flight finish (they are paid for).
    A second one, or the grace period running out, cancels what is left at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if ctl.stopping and ctl.stop_signal is not None:
                break
            ctl.stop_for_signal(signum)
            scope_owner.start_soon(_grace_then_cancel, ctl, scope_owner, grace_s)
    ctl.hard_stop = True
    scope_owner.cancel_scope.cancel()


async def _grace_then_cancel(ctl: RunControl, owner: TaskGroup, grace_s: float) -> None:
    await anyio.sleep(grace_s)
    ctl.hard_stop = True
    owner.cancel_scope.cancel()


class _Progress:
    """Feeds the display from the run's tallies on top of the counts the run started with."""

    def __init__(self, engine: Engine, display: ProgressDisplay, base: dict[str, int]) -> None:
        self.engine, self.display, self.base = engine, display, base
        self.total = sum(base.values())
        self.started = time.monotonic()

    async def loop(self, store: Store) -> None:
        """Refreshes the display and flushes request counters to the DB."""
        while True:
            await anyio.sleep(PROGRESS_EVERY_S)
            await store.bump(self.engine.counters.unflushed())
            self.show()

    def show(self) -> None:
        self.display.update(self.snapshot(time.monotonic() - self.started))

    def snapshot(self, elapsed: float) -> ProgressSnapshot:
        t, base, engine = self.engine.ctl.tally, self.base, self.engine
        done = base.get("done", 0) + t.done
        failed = base.get("failed", 0) + t.failed
        in_flight = (
            engine.ahead.in_flight
            + engine.throttle.in_flight
            + engine.recording.in_flight
            + engine.task_slots.in_flight
        )
        left = self.total - done - failed
        return ProgressSnapshot(
            total=self.total,
            done=done,
            failed=failed,
            ambiguous=base.get("ambiguous", 0),
            in_flight=in_flight,
            pending=max(0, left - in_flight),
            images=t.images,
            spent_usd=engine.ctl.spent,
            elapsed_s=elapsed,
            images_per_min=t.images / elapsed * 60 if elapsed > 0 else 0.0,
            eta_s=left / (t.done / elapsed) if t.done and elapsed > 0 else None,
        )


async def _exit_code(store: Store, ctl: RunControl) -> int:
    counts = await store.count_states()
    if (code := ctl.signal_exit_code) is not None:
        return code
    if ctl.fatal_error is not None:
        return 4
    if ctl.budget_stopped:
        return 3
    return 1 if counts.get("failed", 0) or counts.get("ambiguous", 0) else 0


async def _write_outputs(job: JobLike, opts: RunOptions, times: RunTimes) -> RunSummary:
    s = job.settings

    def make(totals: Totals) -> RunSummary:
        return summarize(s.name, totals, times, s.budget_usd, opts.unpriced_models)

    return await anyio.to_thread.run_sync(
        write_outputs, s.output_dir / STATE_DB, s.output_dir, make
    )


def _reason(ctl: RunControl, exit_code: int) -> str | None:
    if ctl.signal_exit_code is not None:
        return "interrupted: requests in flight were recorded; run again to resume"
    if ctl.fatal_error is not None:
        e = ctl.fatal_error
        status = f"HTTP {e.http_status} " if e.http_status else ""
        code = f" [{e.code}]" if e.code else ""
        return f"the provider refused the account: {status}{e.message}{code}; items stay pending"
    if ctl.budget_stopped:
        budget = ctl.settings.budget_usd or 0.0
        return f"stopped by the budget (${budget:.2f}; spent ${ctl.spent:.4f}); raise it to go on"
    if exit_code == 1:
        return "some items failed or are ambiguous: see failures.jsonl"
    return None
