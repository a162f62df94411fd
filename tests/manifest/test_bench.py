"""The expansion benchmark runs end to end (timings are reported, never asserted)."""

from __future__ import annotations

from pathlib import Path

from runner.manifest.bench import BENCH_MODELS, run, write_job


def test_bench_job_has_ten_models(tmp_path: Path) -> None:
    """The bench manifest asks for every prompt x ten models, one size each."""
    write_job(tmp_path, 3)
    assert len(BENCH_MODELS) == 10
    assert (tmp_path / "prompts.txt").read_text(encoding="utf-8").count("\n") == 3


def test_bench_small_run_counts_items() -> None:
    """A 2,000-prompt run plans and expands 20,000 items and reports them."""
    result = run(prompts=2_000, expand=True)
    assert result.items == 20_000
    assert result.expand_s is not None
    assert result.peak_rss_mb > 0
    assert result.report().startswith("20,000 items (2,000 prompts x 10 models)")
