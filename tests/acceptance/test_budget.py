"""The budget is a hard cap: across runs, resumes and kills, nothing is sent past it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from runner.sim import SimConfig, SimServer
from tests.acceptance.conftest import run_cli, write_job

PRICE = 0.04  # dall-e-3 standard 1024x1024, list price
JOB = """\
name: budget
concurrency: 4
budget_usd: 1.00
prompts:
  - text: "a {thing} number {k}"
    vars: {thing: [cat, dog, owl, fox], k: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}
models: [{name: dall-e-3, sizes: [1024x1024], params: {response_format: b64_json}}]
"""


def _report(out: Path) -> dict[str, object]:
    report: dict[str, object] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report


def test_budget_stops_the_run_at_the_cap_with_exit_3(tmp_path: Path) -> None:
    """$1.00 over $0.04 items: exactly 25 are sent and done, then exit 3 with the reason."""
    with SimServer(SimConfig(seed=1)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        result = run_cli("run", job, "--out", tmp_path / "out", "--quiet")
        posts = sim.stats().generations
    assert result.returncode == 3, result.stderr
    assert "stopped by the budget" in result.stderr
    assert posts == 25
    report = _report(tmp_path / "out")
    assert report["cost_usd"] == {"total": pytest.approx(1.00), "by_model": {"dall-e-3": 1.0}}
    assert report["items"]["done"] == 25  # type: ignore[index]


def test_spend_persists_across_runs_and_a_higher_budget_goes_on(tmp_path: Path) -> None:
    """A second run under the same budget sends nothing; raising it carries on from the spend."""
    with SimServer(SimConfig(seed=2)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        assert run_cli("run", job, "--out", out, "--quiet", "--budget", "0.4").returncode == 3
        assert sim.stats().generations == 10
        again = run_cli("run", job, "--out", out, "--quiet", "--budget", "0.4")
        assert again.returncode == 3
        assert sim.stats().generations == 10
        more = run_cli("run", job, "--out", out, "--quiet", "--budget", "1.2")
        assert more.returncode == 3
        assert sim.stats().generations == 30
    assert _report(out)["cost_usd"]["total"] == pytest.approx(1.2)  # type: ignore[index]


def test_budget_holds_across_a_kill_and_a_resume(tmp_path: Path) -> None:
    """After a kill -9 mid-run, requests that may have been charged count against the budget."""
    with SimServer(SimConfig(seed=3)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        crash = {"RUNNER_CRASH_AT": "after_answer:12"}
        killed = run_cli("run", job, "--out", out, "--quiet", env=crash)
        assert killed.returncode == -signal.SIGKILL
        resumed = run_cli("run", job, "--out", out, "--quiet")
        assert resumed.returncode == 3, resumed.stderr
        charged = sim.stats().by_status.get(200, 0) * PRICE  # what the provider billed
    assert charged <= 1.00 + 1e-9
    report = _report(out)
    assert report["possible_duplicate_charges"] >= 1
    assert report["cost_usd"]["total"] <= 1.00 + 1e-9  # type: ignore[index]


def test_budget_with_an_unpriced_model_is_refused_before_any_spend(tmp_path: Path) -> None:
    """A budget over a model with no price is exit 2 at the budget key, unless pricing names it."""
    body = "budget_usd: 5\nprompts: [a lake]\nmodels: [stable-diffusion-3]\n"
    job = write_job(tmp_path / "job.yaml", "http://127.0.0.1:9/v1", body)
    result = run_cli("plan", job)
    assert result.returncode == 2
    assert "budget_usd: stable-diffusion-3 has no price" in result.stderr
    priced = write_job(
        tmp_path / "priced.yaml",
        "http://127.0.0.1:9/v1",
        body + "pricing: {stable-diffusion-3: {per_image: 0.03}}\n",
    )
    assert run_cli("plan", priced).returncode == 0
