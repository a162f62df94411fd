"""kill -9 at every named crash point, then `runner run` again: nothing lost, nothing paid twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.sim import SimConfig, SimServer
from tests.acceptance.conftest import KEY_ENV, run_cli, write_job
from tests.acceptance.invariants import check_finished, check_tasks_kept, committed_task_ids

CONCURRENCY = 4
JOB = f"""\
name: crash
concurrency: {CONCURRENCY}
poll: {{interval_s: 0.05, max_interval_s: 0.1}}
prompts:
  - text: "a {{animal}} number {{k}}"
    vars: {{animal: [cat, fox, owl], k: [1, 2, 3]}}
models:
  - name: dall-e-2
    sizes: [256x256]
  - name: dall-e-3
    sizes: [1024x1024]
    params: {{response_format: b64_json}}
  - name: flux-pro
    sizes: [1024x1024]
"""
ITEMS = 9 * 3


def _resume_and_check(job: Path, out: Path, sim: SimServer, killed_tasks: dict[str, str]) -> None:
    result = run_cli("run", job, "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    report = check_finished(out, items=ITEMS, images=ITEMS)
    check_tasks_kept(out, killed_tasks)
    duplicates = report["possible_duplicate_charges"]
    # Each POST beyond one per item must be one the report owns up to (it may own up to more:
    # an intent recorded whose POST never left). Only requests in flight or answers not yet
    # recorded (each bounded by the concurrency) can repeat; intents waiting for a send slot
    # (bounded by it too) are counted but were never sent.
    posts = sim.stats().generations
    assert ITEMS <= posts <= ITEMS + duplicates
    assert posts - ITEMS <= 2 * CONCURRENCY
    assert duplicates <= 3 * CONCURRENCY


@pytest.mark.parametrize(
    "point",
    [
        "after_intent:5",
        "after_answer:5",
        "after_task_id:2",
        "mid_poll:3",
        "after_file_write:5",
        "during_outputs:1",
    ],
)
def test_kill_at_crash_point_then_resume(tmp_path: Path, point: str) -> None:
    """A SIGKILL at the named point, then a plain re-run, ends with every item done exactly once."""
    with SimServer(SimConfig(seed=3, task_seconds=0.2)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        killed = run_cli("run", job, "--out", out, "--quiet", env={"RUNNER_CRASH_AT": point})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        _resume_and_check(job, out, sim, committed_task_ids(out / "state.sqlite"))


# The soak's job is larger and its simulator slower, so a run lasts a few seconds and most
# random kills land in the middle of real work rather than after the end.
SOAK_JOB = JOB.replace("k: [1, 2, 3]", "k: [1, 2, 3, 4, 5, 6, 7, 8, 9]")
SOAK_ITEMS = 27 * 3


@pytest.mark.slow
def test_random_kill_soak(tmp_path: Path) -> None:
    """Many seeded random kill -9s over a mixed sync/async job end with each item done once."""
    rng = random.Random(20261121)
    with SimServer(SimConfig(seed=5, task_seconds=0.3, latency_s=0.15)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, SOAK_JOB)
        out = tmp_path / "out"
        kept: dict[str, str] = {}
        kills = 0
        for _ in range(12):
            proc = subprocess.Popen(
                [sys.executable, "-m", "runner", "run", str(job), "--out", str(out), "--quiet"],
                env={**_env()},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.4, 1.0))  # python start-up takes ~0.3 s here
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            if (out / "state.sqlite").exists():
                kept.update(committed_task_ids(out / "state.sqlite"))
        assert kills >= 8
        result = run_cli("run", job, "--out", out, "--quiet")
        assert result.returncode == 0, result.stderr
        report = check_finished(out, items=SOAK_ITEMS, images=SOAK_ITEMS)
        final = {k: v for k, v in committed_task_ids(out / "state.sqlite").items()}
        # Task ids only ever change when a kill hit between answer and commit (a counted resend).
        changed = sum(1 for k, v in kept.items() if final.get(k) != v)
        assert changed <= report["possible_duplicate_charges"]
        posts = sim.stats().generations
        assert SOAK_ITEMS <= posts <= SOAK_ITEMS + report["possible_duplicate_charges"]
        assert posts - SOAK_ITEMS <= 2 * CONCURRENCY * kills
        assert report["possible_duplicate_charges"] <= 3 * CONCURRENCY * kills


def _env() -> dict[str, str]:
    import os

    return {**os.environ, KEY_ENV: "sk-test-not-a-real-key"}
