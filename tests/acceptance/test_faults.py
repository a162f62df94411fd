"""Every gateway fault at once, and each failure class, through the CLI against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.sim import SimConfig, SimServer
from tests.acceptance.conftest import KEY_ENV, run_cli, write_job
from tests.acceptance.invariants import check_finished, metadata_rows

MIXED = """\
name: faults
concurrency: 6
retry: {max_attempts: 12, backoff_s: 0.05, max_backoff_s: 0.4}
poll: {interval_s: 0.05, max_interval_s: 0.1}
prompts:
  - text: "a {thing} at dawn"
    vars: {thing: [harbour, forest, desert, glacier, market, temple]}
models:
  - name: dall-e-2            # sync, url answers: downloads
    sizes: [256x256]
  - name: gpt-image-1         # sync, b64 answers with usage
    sizes: [1024x1024]
    params: {quality: low}
  - name: flux-pro            # async tasks, url results
    sizes: [1024x1024]
  - name: midjourney          # async tasks
    sizes: [1024x1024]
"""
MIXED_ITEMS = 6 * 4
EVERY_FAULT = SimConfig(
    seed=11,
    task_seconds=0.2,
    rate_429=0.1,
    retry_after_s=0.1,
    rate_503=0.05,
    fail_rate=0.05,
    malformed_rate=0.05,
    task_fail_rate=0.2,
    poll_fail_rate=0.2,
    download_fail_rate=0.2,
    slow_rate=0.05,
    slow_s=0.3,
    outage_start_s=1.0,
    outage_duration_s=1.0,
    rps_limit=40.0,
    image_origin="other",
)


def _report(out: Path) -> dict[str, object]:
    result: dict[str, object] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return result


def test_mixed_job_survives_every_fault(tmp_path: Path) -> None:
    """With every fault on, every item still ends done once, and each resend is accounted for."""
    with SimServer(EVERY_FAULT) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, MIXED)
        result = run_cli("run", job, "--out", tmp_path / "out", "--quiet")
        stats = sim.stats()
    assert result.returncode == 0, result.stderr
    report = check_finished(tmp_path / "out", items=MIXED_ITEMS, images=MIXED_ITEMS)
    requests = report["requests"]
    assert requests["rate_limited"] > 0
    assert report["possible_duplicate_charges"] > 0  # the malformed 200s were paid for
    # Every POST is an item's first or a counted resend: nothing is sent unaccounted for.
    assert stats.generations == MIXED_ITEMS + requests["retries"]
    assert stats.by_status.get(429, 0) == requests["rate_limited"]
    assert stats.auth_on_image_requests == 0
    rows = metadata_rows(tmp_path / "out")
    assert all(r["usage"] for r in rows if r["model"] == "gpt-image-1")
    assert all(r["task_id"] for r in rows if r["model"] in ("flux-pro", "midjourney"))


def test_bearer_token_never_reaches_an_image_host_on_another_origin(tmp_path: Path) -> None:
    """Images served from another origin are fetched without the Authorization header."""
    with SimServer(SimConfig(seed=1, task_seconds=0.1, image_origin="other")) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, MIXED)
        result = run_cli("run", job, "--out", tmp_path / "out", "--quiet")
        stats = sim.stats()
    assert result.returncode == 0, result.stderr
    assert stats.downloads >= 18  # dall-e-2, flux-pro and midjourney images
    assert stats.auth_on_image_requests == 0


def test_refused_prompts_fail_alone_with_the_providers_reason(tmp_path: Path) -> None:
    """A content-policy refusal fails that item at once (exit 1); the rest of the job is done."""
    body = """\
prompts: ["a quiet lake", "something forbidden"]
models: [{name: dall-e-3, sizes: [1024x1024]}]
"""
    with SimServer(SimConfig(seed=2)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, body)
        result = run_cli("run", job, "--out", tmp_path / "out", "--quiet")
        posts = sim.stats().generations
    assert result.returncode == 1, result.stderr
    assert posts == 2  # the refusal is not retried
    failures = [
        json.loads(x) for x in (tmp_path / "out" / "failures.jsonl").read_text().splitlines()
    ]
    assert len(failures) == 1
    assert failures[0]["prompt"] == "something forbidden"
    assert failures[0]["state"] == "failed"
    assert failures[0]["error"]["kind"] == "invalid"
    assert failures[0]["error"]["code"] == "content_policy_violation"
    assert failures[0]["error"]["http_status"] == 400


def test_wrong_key_stops_the_run_with_exit_4_and_items_pending(tmp_path: Path) -> None:
    """A 401 stops new sends after at most `concurrency` requests; nothing is marked failed."""
    with SimServer(SimConfig(seed=3, api_key="sk-the-right-one")) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, MIXED)
        result = run_cli("run", job, "--out", tmp_path / "out", "--quiet")
        posts = sim.stats().generations
    assert result.returncode == 4, result.stderr
    assert 1 <= posts <= 6
    report = _report(tmp_path / "out")
    assert report["items"] == {
        "total": MIXED_ITEMS,
        "done": 0,
        "failed": 0,
        "ambiguous": 0,
        "pending": MIXED_ITEMS,
    }
    assert "invalid_api_key" in result.stderr or "401" in result.stderr
    assert "sk-test-not-a-real-key" not in result.stderr


def test_expired_image_urls_fail_clearly_without_regenerating(tmp_path: Path) -> None:
    """A URL that expired before download fails its item with a message saying how to redo it."""
    body = "prompts: [a red kite]\nmodels: [{name: dall-e-2, sizes: [256x256]}]\n"
    with SimServer(SimConfig(seed=4, url_ttl_s=0.001)) as sim:
        job = write_job(tmp_path / "job.yaml", sim.base_url, body)
        result = run_cli("run", job, "--out", tmp_path / "out", "--quiet")
        posts = sim.stats().generations
    assert result.returncode == 1
    assert posts == 1
    failure = json.loads((tmp_path / "out" / "failures.jsonl").read_text())
    assert failure["error"]["kind"] == "download"
    assert "runner retry --item" in failure["error"]["message"]


def test_models_lists_the_providers_image_models(tmp_path: Path, sim: SimServer) -> None:
    """`runner models --json` lists what GET /v1/models?recommended_for=image returns."""
    result = run_cli("models", "--base-url", sim.base_url, "--api-key-env", KEY_ENV, "--json")
    assert result.returncode == 0, result.stderr
    ids = {m["id"] for m in json.loads(result.stdout)}
    assert {"dall-e-3", "gpt-image-1", "flux-pro", "midjourney"} <= ids


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_models_without_key_variable_is_a_usage_error(flag: list[str]) -> None:
    """A missing key variable is exit 2 naming it, before any request."""
    result = run_cli("models", "--api-key-env", "RUNNER_NO_SUCH_VAR", *flag)
    assert result.returncode == 2
    assert "RUNNER_NO_SUCH_VAR" in result.stderr
    assert "Traceback" not in result.stderr
