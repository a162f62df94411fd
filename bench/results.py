"""Figures, goals, the printed table and ``bench/results.json``."""

from __future__ import annotations

import enum
import json
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import REPO


class Op(enum.StrEnum):
    AT_LEAST = ">="
    AT_MOST = "<="


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "FAIL"
    INFO = "info"  # a figure reported for context, with no goal of its own
    ERROR = "ERROR"  # the benchmark could not measure


@dataclass(frozen=True)
class Goal:
    op: Op
    target: float

    def met(self, value: float) -> bool:
        return value >= self.target if self.op is Op.AT_LEAST else value <= self.target


def at_least(target: float) -> Goal:
    return Goal(Op.AT_LEAST, target)


def at_most(target: float) -> Goal:
    return Goal(Op.AT_MOST, target)


# How each unit is printed: a format for the number, then the unit's text.
_FORMATS: dict[str, tuple[str, str]] = {
    "x": ("{:.2f}", "x"),
    "items/s": ("{:,.0f}", " items/s"),
    "s": ("{:.2f}", " s"),
    "MB": ("{:.0f}", " MB"),
    "us/item": ("{:,.0f}", " us/item"),
    "polls/task": ("{:.2f}", " polls/task"),
    "%": ("{:.2f}", "%"),
    "items": ("{:.0f}", " items"),
    "rate/s": ("{:.1f}", " items/s"),
    "": ("{:.3f}", ""),
}


def show(value: float, unit: str) -> str:
    number, suffix = _FORMATS[unit]
    return number.format(value) + suffix


@dataclass(frozen=True)
class Figure:
    """One measured number, with the goal it is held to (if any)."""

    label: str
    value: float
    unit: str
    goal: Goal | None = None

    @property
    def verdict(self) -> Verdict:
        if self.goal is None:
            return Verdict.INFO
        return Verdict.PASS if self.goal.met(self.value) else Verdict.FAIL

    def goal_text(self) -> str:
        return "" if self.goal is None else f"{self.goal.op} {show(self.goal.target, self.unit)}"

    def to_json(self) -> dict[str, Any]:
        goal = None if self.goal is None else {"op": str(self.goal.op), "target": self.goal.target}
        return {
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "goal": goal,
            "verdict": str(self.verdict),
        }


@dataclass(frozen=True)
class BenchResult:
    """One benchmark's figures, the raw measurements behind them, or why it could not run."""

    key: str  # B1 ... B5
    title: str
    figures: tuple[Figure, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    elapsed_s: float = 0.0
    # 1/5/15-minute load averages as it started: other work on the machine skews timings.
    load_before: tuple[float, ...] = ()

    @property
    def passed(self) -> bool:
        return self.error is None and all(f.verdict is not Verdict.FAIL for f in self.figures)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "passed": self.passed,
            "error": self.error,
            "elapsed_s": round(self.elapsed_s, 2),
            "load_average_before": [round(x, 2) for x in self.load_before],
            "figures": [f.to_json() for f in self.figures],
            "details": dict(self.details),
        }


def table(results: Sequence[BenchResult]) -> str:
    """The results as a markdown table (printed, and pasted into the README)."""
    lines = [
        "| Benchmark | Figure | Value | Goal | Result |",
        "|---|---|---:|---|---|",
    ]
    for r in results:
        name = f"{r.key} {r.title}"
        if r.error is not None:
            lines.append(f"| {name} | (could not measure) | | | {Verdict.ERROR} |")
        for f in r.figures:
            value = show(f.value, f.unit)
            lines.append(f"| {name} | {f.label} | {value} | {f.goal_text()} | {f.verdict} |")
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def write_results(
    path: Path, results: Sequence[BenchResult], argv: Sequence[str], quick: bool
) -> None:
    document = {
        "command": " ".join(["python -m bench", *argv]),
        "quick": quick,
        "machine": machine_info(),
        "passed": all(r.passed for r in results),
        "benchmarks": {r.key: r.to_json() for r in results},
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
