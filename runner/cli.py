"""The `runner` command line: parse flags, turn user errors into one line and exit code 2.

Every user error (bad manifest, bad flag, missing API key variable, busy output directory) is caught
here and printed as ``runner: error: ...`` with no traceback, before a single request is sent.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from typing import NoReturn

from runner import commands
from runner.api import UserError
from runner.client.spawn import prestarted
from runner.store import DirectoryLocked, SchemaTooNew

EXIT_USAGE = 2


def _job_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("job", metavar="JOB.yaml", help="the job manifest")
    p.add_argument("--out", metavar="DIR", help="output directory (default: the manifest's)")
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runner", description="Batch image generation against OpenAI-compatible APIs."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _job_parser(sub, "plan", "validate, expand and estimate a job; sends nothing")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = _job_parser(sub, "run", "run or resume a job (idempotent)")
    p.add_argument(
        "--concurrency",
        type=_positive_int,
        metavar="N",
        help="generation requests in flight (overrides the manifest)",
    )
    p.add_argument(
        "--budget",
        type=_positive_float,
        metavar="USD",
        help="hard cap on the job's spend (overrides budget_usd)",
    )
    p.add_argument(
        "--limit", type=_positive_int, metavar="N", help="start at most N new items this run"
    )
    p.add_argument(
        "--on-ambiguous",
        choices=["resend", "hold"],
        default="resend",
        help="items whose request may have been sent without an answer recorded: "
        "send again (counted as possible duplicate charges) or hold for `retry`",
    )
    p.add_argument(
        "--grace",
        type=_non_negative_float,
        default=60.0,
        metavar="S",
        help="after Ctrl-C, seconds to let requests in flight finish (default 60)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")

    p = _job_parser(sub, "status", "progress from the state DB; safe while a run is live")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = _job_parser(sub, "retry", "put failed or ambiguous items back to pending")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--failed", action="store_true", help="every failed item")
    group.add_argument("--ambiguous", action="store_true", help="every held ambiguous item")
    group.add_argument("--item", metavar="ID", help="one item by its item_id")

    _job_parser(sub, "report", "rewrite metadata.jsonl, failures.jsonl, report.json, index.html")

    p = sub.add_parser("models", help="list the provider's image models")
    p.add_argument("--base-url", help="default: $OPENAI_BASE_URL, else OpenAI's")
    p.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="NAME",
        help="the environment variable holding the key (default OPENAI_API_KEY)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("sim", help="serve the built-in provider simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--latency", type=_non_negative_float, default=0.0, metavar="S")
    p.add_argument("--task-seconds", type=_non_negative_float, default=2.0, metavar="S")
    p.add_argument("--fail-rate", type=_non_negative_float, default=0.0, metavar="F")
    p.add_argument(
        "--rps-limit", type=_positive_float, metavar="R", help="answer 429 above R POSTs/s"
    )
    p.add_argument(
        "--outage-start", type=_non_negative_float, metavar="S", help="503 everything from S s"
    )
    p.add_argument(
        "--outage-duration",
        type=_non_negative_float,
        default=0.0,
        metavar="S",
        help="for this long (with --outage-start)",
    )
    p.add_argument("--seed", type=int, default=0)

    sub.add_parser("schema", help="print the job manifest's JSON Schema")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with prestarted() if args.command == "run" else nullcontext():
            return commands.dispatch(args)
    except (UserError, DirectoryLocked, SchemaTooNew) as exc:
        for line in str(exc).splitlines():
            print(f"runner: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `runner plan ... | head`: the reader left; that is not an error of ours. Point stdout
        # at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def run_and_exit(argv: Sequence[str] | None = None) -> NoReturn:
    """The `runner` process: :func:`main`, then exit without tearing the interpreter down.

    By the time main() returns, every file it wrote is closed (and synced where it matters) and
    its threads are done; finalizing the ~1,000 modules a run imports would only add ~80 ms to
    every command. So the output streams are flushed and the process ends at once. An exception
    escaping main() still takes the interpreter's usual way, traceback and all.
    """
    code = main(argv)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass  # the reader left or the stream is closed: nothing more can be shown
    os._exit(code)


if __name__ == "__main__":
    run_and_exit()
