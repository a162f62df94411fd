"""Acceptance tier: the `runner` CLI as a real subprocess against a real simulator on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.sim import SimConfig, SimServer

KEY_ENV = "RUNNER_TEST_KEY"


def run_cli(
    *args: str | Path,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs `python -m runner ARGS` and returns its exit code and output."""
    full_env = {**os.environ, KEY_ENV: "sk-test-not-a-real-key", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "runner", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
    )


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """A seeded simulator with fast async tasks."""
    with SimServer(SimConfig(seed=7, task_seconds=0.3)) as server:
        yield server


def write_job(path: Path, base_url: str, body: str) -> Path:
    """Writes a manifest that points at `base_url` with the test key variable."""
    path.write_text(
        f"provider:\n  base_url: {base_url}\n  api_key_env: {KEY_ENV}\n" + body, encoding="utf-8"
    )
    return path
