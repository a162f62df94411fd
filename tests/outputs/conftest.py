"""Fixtures: an output directory and a record factory writing real images into it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .factory import Records


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out


@pytest.fixture
def records(out_dir: Path) -> Records:
    return Records(out_dir)
