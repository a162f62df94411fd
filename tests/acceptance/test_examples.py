"""The shipped examples run as documented, so they cannot rot."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_make_pipeline_builds_downstream_target_and_is_idempotent(tmp_path: Path) -> None:
    """`make` runs the job and the downstream step; a second `make` has nothing to do."""
    out = tmp_path / "out"
    args = [
        "make",
        "-C",
        str(ROOT / "examples" / "pipeline"),
        f"OUT={out}",
        f"RUNNER={BIN / 'runner'}",
        f"PYTHON={sys.executable}",
    ]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    with (out / "summary.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["model"]: int(r["images"]) for r in rows} == {"dall-e-2": 3, "gpt-image-1": 3}
    second = subprocess.run([*args, "--question"], capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, "make thinks something is out of date after a full build"


def test_api_example_plans_and_runs_the_quickstart(tmp_path: Path) -> None:
    """The Python API script prints the plan, runs the job and exits 0."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "api_example.py"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("20 items, about $")
    assert "exit 0: 20/20 done" in result.stdout
