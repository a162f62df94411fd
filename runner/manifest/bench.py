"""Benchmark: plan a 1,000,000-item job (100,000 prompts x 10 models) in a temp dir.

The target is under 30 s and under 400 MB peak RSS on a 2-core machine, which only holds if
expansion streams. Run: ``python -m runner.manifest.bench [--prompts N] [--expand]``.
``--expand`` also walks every WorkItem (ids included) once, to time full expansion.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runner.manifest.loader import load_job
from runner.manifest.plan import plan_job

BENCH_MODELS = (
    ("dall-e-2", "512x512"),
    ("dall-e-3", "1024x1024"),
    ("gpt-image-1", "1024x1024"),
    ("gpt-image-1-mini", "1536x1024"),
    ("gpt-image-1.5", "1024x1536"),
    ("gpt-image-2", "2048x1152"),
    ("flux-pro", "1024x1024"),
    ("flux-schnell", "1024x1024"),
    ("midjourney", "1024x1024"),
    ("ideogram-v3", "1024x1024"),
)


@dataclass(frozen=True)
class BenchResult:
    """What one benchmark run measured."""

    prompts: int
    items: int
    load_s: float
    plan_s: float
    expand_s: float | None
    peak_rss_mb: float

    def report(self) -> str:
        expand = "" if self.expand_s is None else f", full expansion {self.expand_s:.2f} s"
        return (
            f"{self.items:,} items ({self.prompts:,} prompts x {len(BENCH_MODELS)} models): "
            f"load_job {self.load_s:.2f} s, plan_job {self.plan_s:.3f} s "
            f"(load + plan {self.load_s + self.plan_s:.2f} s){expand}; "
            f"peak RSS {self.peak_rss_mb:.0f} MB"
        )


def write_job(directory: Path, prompts: int) -> Path:
    """A manifest with ``prompts`` distinct lines in prompts.txt and the ten bench models."""
    with (directory / "prompts.txt").open("w", encoding="utf-8") as out:
        for i in range(prompts):
            out.write(f"a photo of subject {i} in style {i % 37}, soft light, 35mm, detailed\n")
    models = "\n".join(f"  - {{name: {m}, sizes: [{s}]}}" for m, s in BENCH_MODELS)
    manifest = directory / "bench.yaml"
    manifest.write_text(
        f"name: bench\nprovider: sim\nprompts:\n  - file: prompts.txt\nmodels:\n{models}\n",
        encoding="utf-8",
    )
    return manifest


def peak_rss_mb() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(prompts: int = 100_000, expand: bool = False) -> BenchResult:
    """Build the job in a temp dir, then time load_job, plan_job and optionally expansion."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_job(Path(tmp), prompts)
        started = time.perf_counter()
        job = load_job(manifest, env={})
        loaded = time.perf_counter()
        plan = plan_job(job)
        planned = time.perf_counter()
        expand_s = None
        if expand:
            count = sum(1 for _ in job.iter_items())
            assert count == plan.items
            expand_s = time.perf_counter() - planned
    return BenchResult(
        prompts, plan.items, loaded - started, planned - loaded, expand_s, peak_rss_mb()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--expand", action="store_true", help="also expand every item once")
    args = parser.parse_args(argv)
    print(run(args.prompts, args.expand).report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
