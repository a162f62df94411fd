"""``python -m bench [--only B1,B3] [--quick] [--results PATH]``: run, print, record.

Exit status: 0 when every goal is met, 1 when a goal is missed or a benchmark could not measure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import (
    b1_overhead,
    b2_littles_law,
    b3_polling,
    b4_scale,
    b5_checkpoint,
    b6_limits,
)
from bench.harness import REPO, Context, warm_bytecode
from bench.results import BenchResult, table, write_results

BENCHMARKS: dict[str, tuple[str, Callable[[Context], BenchResult]]] = {
    "B1": (b1_overhead.TITLE, b1_overhead.run),
    "B2": (b2_littles_law.TITLE, b2_littles_law.run),
    "B3": (b3_polling.TITLE, b3_polling.run),
    "B4": (b4_scale.TITLE, b4_scale.run),
    "B5": (b5_checkpoint.TITLE, b5_checkpoint.run),
    "B6": (b6_limits.TITLE, b6_limits.run),
}


def _selection(text: str | None) -> list[str]:
    if text is None:
        return list(BENCHMARKS)
    keys = [k.strip().upper() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in BENCHMARKS]
    if unknown or not keys:
        known = ",".join(BENCHMARKS)
        raise argparse.ArgumentTypeError(f"unknown benchmark {','.join(unknown)} (known: {known})")
    return keys


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", type=_selection, metavar="B1,B3", help="run only these")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--results",
        type=Path,
        default=REPO / "bench" / "results.json",
        help="where to write the results (default bench/results.json)",
    )
    return parser.parse_args(argv)


def run_one(key: str, ctx: Context) -> BenchResult:
    """Runs one benchmark; a failure to measure becomes an ERROR row, not a crash."""
    title, bench = BENCHMARKS[key]
    print(f"bench: {key} {title} ...", file=sys.stderr, flush=True)
    load = os.getloadavg()
    started = time.perf_counter()
    try:
        result = bench(ctx)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        result = BenchResult(key, title, error=f"{type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - started
    print(f"bench: {key} done in {elapsed:.1f} s", file=sys.stderr, flush=True)
    return BenchResult(
        result.key, result.title, result.figures, result.details, result.error, elapsed, load
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    keys = args.only or list(BENCHMARKS)
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as tmp:
        ctx = Context(Path(tmp), quick=args.quick)
        warm_bytecode(ctx.dir("logs"))
        results = [run_one(key, ctx) for key in keys]
    print(table(results))
    write_results(args.results, results, argv, args.quick)
    print(f"\nresults written to {args.results}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
