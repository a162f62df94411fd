"""status, report and retry through the CLI, and the README's Python example, as users run them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.sim import SimConfig, SimServer
from tests.acceptance.conftest import KEY_ENV, run_cli, write_job

ROOT = Path(__file__).resolve().parents[2]
JOB = """\
name: commands
concurrency: 2
prompts: ["a calm sea", "a forbidden door", "a green hill"]
models: [{name: dall-e-3, sizes: [1024x1024], params: {response_format: b64_json}}]
"""


def test_status_reports_a_live_run_and_a_finished_one(tmp_path: Path) -> None:
    """`status --json` works while a run holds the directory, and after it ends."""
    with SimServer(SimConfig(seed=1, latency_s=3.0)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        proc = subprocess.Popen(
            [sys.executable, "-m", "runner", "run", str(job), "--out", str(out), "--quiet"],
            env={**os.environ, KEY_ENV: "sk-test"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                live = run_cli("status", job, "--out", out, "--json")
                if live.returncode == 0 and json.loads(live.stdout)["items"]["in_flight"] > 0:
                    break
                assert time.monotonic() < deadline, live.stderr
                time.sleep(0.2)
            status = json.loads(live.stdout)
            assert status["running"] is True
            assert status["items"]["total"] == 3
        finally:
            proc.wait(timeout=60)
    after = json.loads(run_cli("status", job, "--out", out, "--json").stdout)
    assert after == {
        "items": {"total": 3, "done": 2, "failed": 1, "ambiguous": 0, "pending": 0, "in_flight": 0},
        "images": 2,
        "cost_usd": pytest.approx(0.08),
        "running": False,
    }
    text = run_cli("status", job, "--out", out)
    assert "commands: not running" in text.stdout
    assert "2/3 done, 1 failed" in text.stdout


def test_report_rewrites_the_outputs_from_the_db_alone(tmp_path: Path, sim: SimServer) -> None:
    """Deleted outputs come back byte-identical from `runner report`, with no request sent."""
    job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
    out = tmp_path / "out"
    assert run_cli("run", job, "--out", out, "--quiet").returncode == 1
    names = ["metadata.jsonl", "failures.jsonl", "index.html"]
    before = {n: (out / n).read_bytes() for n in names}
    for n in [*names, "report.json"]:
        (out / n).unlink()
    sim.reset_stats()
    result = run_cli("report", job, "--out", out)
    assert result.returncode == 0, result.stderr
    assert {n: (out / n).read_bytes() for n in names} == before
    assert json.loads((out / "report.json").read_text())["exit_code"] == 1
    assert sim.stats().generations == 0


def test_retry_failed_and_one_item_send_only_those_again(tmp_path: Path) -> None:
    """`retry --failed` and `retry --item ID` put exactly those items back; others are untouched."""
    with SimServer(SimConfig(seed=2)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
        out = tmp_path / "out"
        assert run_cli("run", job, "--out", out, "--quiet").returncode == 1
        failed = json.loads((out / "failures.jsonl").read_text())
        retried = run_cli("retry", job, "--out", out, "--failed")
        assert retried.returncode == 0
        assert "1 item(s) back to pending" in retried.stdout
        sim.reset_stats()
        assert run_cli("run", job, "--out", out, "--quiet").returncode == 1  # refused again
        assert sim.stats().generations == 1
        one = run_cli("retry", job, "--out", out, "--item", failed["item_id"])
        assert one.returncode == 0
        unknown = run_cli("retry", job, "--out", out, "--item", "no-such-item")
        assert unknown.returncode == 2
        assert "no failed or ambiguous item with that id" in unknown.stderr


def test_readme_python_example_runs(tmp_path: Path) -> None:
    """The README's Python block runs as written (from the repository root)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert blocks
    code = blocks[0].replace('out="out/qs"', f'out="{tmp_path / "qs"}"')
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "0"


def test_load_dataset_example_reads_the_output(tmp_path: Path) -> None:
    """examples/load_dataset.py loads a run's output as an imagefolder dataset."""
    pytest.importorskip("datasets")
    out = tmp_path / "out"
    assert (
        run_cli("run", ROOT / "jobs" / "quickstart.yaml", "--out", out, "--quiet").returncode == 0
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "load_dataset.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("20 images; columns: image, item_id")
