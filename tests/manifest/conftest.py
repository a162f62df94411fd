"""A workspace in tmp_path (the current directory during the test) for manifests and files."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from runner.manifest import Job, ManifestError, load_job


class Workspace:
    """Writes files under a temp dir and loads manifests by their relative path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return Path(name)

    def load(
        self, text: str, name: str = "jobs/job.yaml", env: Mapping[str, str] | None = None
    ) -> Job:
        return load_job(self.write(name, text), env=env or {})

    def problems(
        self, text: str, name: str = "jobs/job.yaml", env: Mapping[str, str] | None = None
    ) -> list[str]:
        with pytest.raises(ManifestError) as caught:
            self.load(text, name, env)
        return [str(p) for p in caught.value.problems]


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A temp workspace as the current directory, so problems show paths like jobs/job.yaml."""
    monkeypatch.chdir(tmp_path)
    return Workspace(tmp_path)
