"""The wait for file creation to cost what it normally does, on a real directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import settle as settle_module
from bench.settle import PROBE_FILES, probe_us, settle


def test_probe_times_real_files_and_keeps_them(tmp_path: Path) -> None:
    """A probe creates its files under the parent, leaves them there, and reports a cost."""
    cost = probe_us(tmp_path)
    (where,) = tmp_path.iterdir()
    assert cost > 0
    assert sorted(p.name for p in where.iterdir()) == sorted(f"{i}.png" for i in range(PROBE_FILES))


def test_settle_returns_at_the_first_cheap_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the first probe is under the threshold, nothing sleeps."""
    monkeypatch.setattr(settle_module, "SETTLED_US", 1e9)
    slept: list[float] = []
    result = settle(tmp_path, limit_s=60, every_s=10, sleep=slept.append)
    assert result.settled
    assert slept == []


def test_settle_gives_up_at_its_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that never gets cheap is waited on no longer than the limit, and said so."""
    monkeypatch.setattr(settle_module, "SETTLED_US", 0.0)
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    result = settle(tmp_path, limit_s=30, every_s=10, sleep=sleep, clock=lambda: now[0])
    assert not result.settled
    assert (slept, result.waited_s) == ([10, 10, 10], 30)
    assert len(list(tmp_path.iterdir())) == 4
