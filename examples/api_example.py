"""Using runner from Python: plan a job, run it, read what it produced.

.venv/bin/python examples/api_example.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from runner import UserError, plan, run

JOB = Path(__file__).resolve().parent.parent / "jobs" / "quickstart.yaml"


def main(out: str) -> int:
    try:
        estimate = plan(JOB, out=out)
    except UserError as exc:  # a bad manifest: every problem, one per line
        print(exc, file=sys.stderr)
        return 2
    print(f"{estimate['items']} items, about ${estimate['est_cost_usd']:.2f}")
    result = run(JOB, out=out)
    items = result.report["items"]
    print(
        f"exit {result.exit_code}: {items['done']}/{items['total']} done,"
        f" ${result.report['cost_usd']['total']:.4f}, outputs in {result.output_dir}"
    )
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out/api-example"))
