"""From a job manifest to images on disk, through the CLI, against the simulator."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from runner.sim import SimServer
from tests.acceptance.conftest import run_cli, write_job

JOB = """\
name: e2e
concurrency: 4
poll: {interval_s: 0.1, max_interval_s: 0.2}
prompts:
  - "a white cat on a windowsill"
  - {id: fox, text: "a {animal} in the snow", vars: {animal: [fox]}}
models:
  - name: dall-e-2
    sizes: [256x256]
    params: {n: 2}
  - name: dall-e-3
    sizes: [1024x1024]
    params: {quality: standard, response_format: b64_json}
  - name: flux-pro
    sizes: [1024x1024]
"""
# Hand-computed from the list prices: dall-e-2 256x256 $0.016 x 2 images x 2 prompts,
# dall-e-3 standard square $0.04 x 2 prompts, flux-pro $0.04 x 2 prompts.
EXPECTED_COST = 0.016 * 2 * 2 + 0.04 * 2 + 0.04 * 2
EXPECTED_IMAGES = 4 + 2 + 2
METADATA_KEYS = [
    "file_name",
    "item_id",
    "image_index",
    "prompt",
    "prompt_id",
    "model",
    "size",
    "params",
    "meta",
    "revised_prompt",
    "task_id",
    "width",
    "height",
    "bytes",
    "sha256",
    "format",
    "cost_usd",
    "usage",
    "attempts",
    "created_at",
]


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def finished(tmp_path: Path, sim: SimServer) -> Path:
    """A job run once to the end; returns its output directory."""
    job = write_job(tmp_path / "job.yaml", sim.base_url, JOB)
    out = tmp_path / "out"
    result = run_cli("run", job, "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    return out


def test_every_image_is_on_disk_as_the_manifest_describes(finished: Path) -> None:
    """Each metadata row points at a real image whose size, bytes and hash it records."""
    rows = _rows(finished / "metadata.jsonl")
    assert len(rows) == EXPECTED_IMAGES
    for row in rows:
        assert list(row) == METADATA_KEYS
        data = (finished / str(row["file_name"])).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert len(data) == row["bytes"]
        with Image.open(finished / str(row["file_name"])) as img:
            assert f"{img.width}x{img.height}" == row["size"]
            assert img.format is not None
            assert img.format.lower() == row["format"]
    files = sorted(p.name for p in (finished / "images").iterdir())
    assert files == sorted(Path(str(r["file_name"])).name for r in rows)


def test_rows_carry_prompt_ids_meta_and_async_task_ids(finished: Path) -> None:
    """Template vars and per-expansion prompt ids reach every row; async rows keep task ids."""
    rows = _rows(finished / "metadata.jsonl")
    fox = [r for r in rows if r["prompt_id"] == "fox-0"]  # one id per template expansion
    assert len(fox) == 4
    assert all(r["meta"] == {"animal": "fox"} and r["prompt"] == "a fox in the snow" for r in fox)
    assert all(r["task_id"] for r in rows if r["model"] == "flux-pro")
    assert not any(r["task_id"] for r in rows if r["model"] != "flux-pro")
    assert all(r["revised_prompt"] for r in rows if r["model"] == "dall-e-3")


def test_report_totals_match_hand_computed_figures(finished: Path) -> None:
    """report.json counts every item and image and bills the list prices."""
    report = json.loads((finished / "report.json").read_text(encoding="utf-8"))
    assert report["items"] == {"total": 6, "done": 6, "failed": 0, "ambiguous": 0, "pending": 0}
    assert report["images"] == EXPECTED_IMAGES
    assert report["cost_usd"]["total"] == pytest.approx(EXPECTED_COST)
    assert report["cost_usd"]["by_model"] == pytest.approx(
        {"dall-e-2": 0.064, "dall-e-3": 0.08, "flux-pro": 0.08}
    )
    assert report["requests"]["generations"] == 6
    assert report["requests"]["downloads"] == 4 + 2  # dall-e-2 urls and flux-pro urls
    assert report["exit_code"] == 0
    assert (finished / "failures.jsonl").read_text(encoding="utf-8") == ""


def test_second_run_sends_nothing_and_rewrites_nothing(
    tmp_path: Path, finished: Path, sim: SimServer
) -> None:
    """Running a finished job again sends no request, exits 0 and leaves outputs untouched."""
    watched = ["metadata.jsonl", "failures.jsonl", "index.html"]
    before = {n: (finished / n).stat().st_mtime_ns for n in watched}
    sim.reset_stats()
    result = run_cli("run", tmp_path / "job.yaml", "--out", finished, "--quiet")
    assert result.returncode == 0, result.stderr
    stats = sim.stats()
    assert (stats.generations, stats.polls, stats.downloads) == (0, 0, 0)
    assert {n: (finished / n).stat().st_mtime_ns for n in watched} == before


def test_run_log_records_every_request_and_state_change_without_secrets(finished: Path) -> None:
    """run.log has a JSON line per request and per state change, and never the API key."""
    text = (finished / "run.log").read_text(encoding="utf-8")
    assert "sk-test-not-a-real-key" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [x for x in lines if x["event"] == "request"]
    assert sum(1 for x in requests if x["kind"] == "generation") == 6
    assert all(x["http_status"] == 200 and x["latency_ms"] >= 0 for x in requests)
    done = {x["item_id"] for x in lines if x["event"] == "state" and x["state"] == "done"}
    assert len(done) == 6
    assert lines[-1]["event"] == "run_end"
    assert lines[-1]["exit_code"] == 0
