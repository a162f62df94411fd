"""Fixtures: one real quickstart output directory, made by the CLI, shared by the module's tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def quickstart_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`runner run jobs/quickstart.yaml` against the built-in simulator, as a user runs it."""
    out = tmp_path_factory.mktemp("quickstart") / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            "jobs/quickstart.yaml",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def metadata_rows(out: Path) -> list[dict[str, Any]]:
    text = (out / "metadata.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]
