"""Graceful stops, one runner per directory, held ambiguous items, and schema versions."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from runner.sim import SimConfig, SimServer
from tests.acceptance.conftest import KEY_ENV, run_cli, write_job
from tests.acceptance.invariants import check_finished

JOB = """\
name: stops
concurrency: 4
prompts:
  - text: "a {thing}"
    vars: {thing: [bell, book, candle, door, egg, fern, gate, harp, iris, jug, kite, lamp]}
models: [{name: dall-e-3, sizes: [1024x1024], params: {response_format: b64_json}}]
"""
ITEMS = 12


def _start(job: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runner", "run", str(job), "--out", str(out), "--quiet", *extra],
        env={**os.environ, KEY_ENV: "sk-test"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_in_flight(out: Path, count: int, timeout: float = 30.0) -> None:
    """Waits until the runner's DB shows `count` requests in flight (the simulator counts a POST
    only when it answers, so with a slow simulator the DB is where in-flight shows)."""
    deadline = time.monotonic() + timeout
    while _states(out).get("submitting", 0) < count:
        assert time.monotonic() < deadline, "the runner never sent its requests"
        time.sleep(0.05)


def _states(out: Path) -> dict[str, int]:
    """Items by state, read-only; empty while the runner is still creating its DB."""
    try:
        with closing(sqlite3.connect(f"file:{out / 'state.sqlite'}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall()
    except sqlite3.OperationalError:
        return {}
    return dict(rows)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_lets_requests_in_flight_finish_then_resume_completes(
    tmp_path: Path, signum: int, code: int
) -> None:
    """A stop signal sends nothing new, records answers already paid for, and a re-run ends it."""
    with SimServer(SimConfig(seed=1, latency_s=0.6)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        proc = _start(job, out)
        _wait_for_in_flight(out, 4)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == code, stderr
        assert "run again to resume" in stderr
        posts = sim.stats().generations
        states = _states(out)
        assert "submitting" not in states  # every request in flight got its answer recorded
        assert states.get("done", 0) == posts  # each answer paid for became an image
        assert (out / "report.json").exists()
        result = run_cli("run", job, "--out", out, "--quiet")
        assert result.returncode == 0, result.stderr
        report = check_finished(out, items=ITEMS, images=ITEMS)
        assert report["possible_duplicate_charges"] == 0
        assert sim.stats().generations == ITEMS


def test_second_ctrl_c_stops_at_once_and_state_stays_consistent(tmp_path: Path) -> None:
    """A second SIGINT does not wait for slow requests; the resume resends only those."""
    with SimServer(SimConfig(seed=2, latency_s=20.0)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        proc = _start(job, out)
        _wait_for_in_flight(out, 4)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)  # far less than the 20 s latency
        assert proc.returncode == 130, stderr
        assert _states(out) == {"submitting": 4, "pending": ITEMS - 4}
        with closing(sqlite3.connect(out / "state.sqlite")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_one_runner_per_output_directory_and_stale_locks_are_taken_over(tmp_path: Path) -> None:
    """A second runner exits 2 naming the holder's PID; after a kill -9 the lock is taken over."""
    with SimServer(SimConfig(seed=3, latency_s=20.0)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        first = _start(job, out)
        _wait_for_in_flight(out, 1)
        second = run_cli("run", job, "--out", out, "--quiet")
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr
        first.kill()
        first.communicate(timeout=10)
    with SimServer(SimConfig(seed=3)) as fresh:
        write_job(job, fresh.base_url, JOB)
        third = run_cli("run", job, "--out", out, "--quiet")
        assert third.returncode == 0, third.stderr
        check_finished(out, items=ITEMS, images=ITEMS)


def test_held_ambiguous_items_wait_for_retry(tmp_path: Path) -> None:
    """--on-ambiguous hold parks interrupted items (exit 1) until `runner retry --ambiguous`."""
    with SimServer(SimConfig(seed=4)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        killed = run_cli(
            "run", job, "--out", out, "--quiet", env={"RUNNER_CRASH_AT": "after_answer:3"}
        )
        assert killed.returncode == -signal.SIGKILL
        held = run_cli("run", job, "--out", out, "--quiet", "--on-ambiguous", "hold")
        assert held.returncode == 1, held.stderr
        rows = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
        assert rows
        assert {r["state"] for r in rows} == {"ambiguous"}
        assert {r["error"]["kind"] for r in rows} == {"ambiguous"}
        retried = run_cli("retry", job, "--out", out, "--ambiguous")
        assert retried.returncode == 0, retried.stderr
        assert f"{len(rows)} item(s) back to pending" in retried.stdout
        final = run_cli("run", job, "--out", out, "--quiet")
        assert final.returncode == 0, final.stderr
        report = check_finished(out, items=ITEMS, images=ITEMS)
        assert report["possible_duplicate_charges"] == len(rows)


def test_state_db_from_a_newer_runner_is_refused_with_one_line(tmp_path: Path) -> None:
    """A schema version this runner does not know is exit 2 with a clear message, no traceback."""
    out = tmp_path / "out"
    out.mkdir()
    with closing(sqlite3.connect(out / "state.sqlite")) as conn:
        conn.execute("PRAGMA user_version = 99")
    job = write_job(tmp_path / "job.yaml", "http://127.0.0.1:9/v1", JOB)
    result = run_cli("run", job, "--out", out, "--quiet")
    assert result.returncode == 2
    assert "schema version 99 is newer" in result.stderr
    assert "Traceback" not in result.stderr
