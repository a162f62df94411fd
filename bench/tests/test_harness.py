"""The simulator process, timed children and the first-POST watcher, for real."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.harness import (
    BENCH_KEY,
    BenchError,
    FirstPost,
    SimOptions,
    SimProcess,
    python_module,
    run_process,
    spawn,
)


def _post(sim: SimProcess, prompt: str) -> int:
    body = {"model": "dall-e-2", "prompt": prompt, "size": "256x256"}
    request = urllib.request.Request(
        f"{sim.base_url}/images/generations",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {BENCH_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        reply.read()
        return int(reply.status)


def test_sim_process_serves_counts_and_resets(tmp_path: Path) -> None:
    """`runner sim` runs as a child; its counters see a POST and reset to zero."""
    with SimProcess(SimOptions(), tmp_path) as sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
        assert _post(sim, "one") == 200
        assert sim.stats().generations == 1
        sim.reset()
        assert sim.stats().generations == 0


def test_first_post_is_noted_when_it_happens(tmp_path: Path) -> None:
    """The watcher's time falls between sending the first POST and a moment after it."""
    with SimProcess(SimOptions(), tmp_path) as sim, FirstPost(sim) as first:
        time.sleep(0.05)
        assert first.at is None
        before = time.time()
        _post(sim, "first")
        deadline = time.monotonic() + 5
        while first.at is None and time.monotonic() < deadline:
            time.sleep(0.005)
    assert first.at is not None
    assert before <= first.at <= time.time()


def test_first_post_wait_gives_up_after_its_timeout(tmp_path: Path) -> None:
    """Waiting for a POST that never comes is an error naming the wait, not a hang."""
    with (
        SimProcess(SimOptions(), tmp_path) as sim,
        FirstPost(sim) as first,
        pytest.raises(BenchError, match="within"),
    ):
        first.wait(0.05)


def test_spawn_kills_a_child_still_running_when_the_block_ends(tmp_path: Path) -> None:
    """A spawned child left running is killed on leaving the block, and reaped."""
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    with spawn(argv, tmp_path, "sleeper") as proc:
        assert proc.poll() is None
    assert proc.returncode == -9


def test_run_process_reports_exit_code_and_peak_rss(tmp_path: Path) -> None:
    """A child's own peak RSS (here at least 60 MB it allocated) and exit code are measured."""
    code = "b = bytearray(60 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); raise SystemExit(3)"
    run = run_process([sys.executable, "-c", code], tmp_path, "child", timeout_s=30)
    assert run.exit_code == 3
    assert run.peak_rss_mb >= 60
    assert run.wall_s > 0
    with pytest.raises(BenchError, match="exited 3"):
        run.check("child")


def test_run_process_runs_modules_from_the_repo(tmp_path: Path) -> None:
    """python_module children run from the repository root, so `bench` is importable."""
    argv = python_module("bench.naive", "--help")
    run = run_process(argv, tmp_path, "help", timeout_s=30).check("naive --help")
    assert "afternoon" in run.stdout
