"""Figures, verdicts, the table and results.json; and B2's steady-state rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import parse_args
from bench.b2_littles_law import steady_rate
from bench.harness import BenchError
from bench.results import BenchResult, Figure, Verdict, at_least, at_most, table, write_results


def test_goals_decide_the_verdict() -> None:
    """A figure passes exactly when it meets its goal, and has no verdict without one."""
    assert Figure("r", 4.0, "x", at_least(4.0)).verdict is Verdict.PASS
    assert Figure("r", 3.99, "x", at_least(4.0)).verdict is Verdict.FAIL
    assert Figure("t", 5.01, "s", at_most(5.0)).verdict is Verdict.FAIL
    assert Figure("t", 1.0, "s").verdict is Verdict.INFO


def test_a_result_fails_on_a_missed_goal_or_an_error() -> None:
    """One FAIL figure or an error makes the benchmark fail; info figures never do."""
    ok = BenchResult("B9", "t", (Figure("a", 1.0, "s"), Figure("b", 1.0, "s", at_most(2.0))))
    missed = BenchResult("B9", "t", (Figure("b", 3.0, "s", at_most(2.0)),))
    broken = BenchResult("B9", "t", error="boom")
    assert (ok.passed, missed.passed, broken.passed) == (True, False, False)


def test_table_shows_values_goals_and_errors() -> None:
    """The markdown table has one row per figure and an ERROR row for a benchmark that broke."""
    text = table(
        [
            BenchResult("B1", "overhead", (Figure("ratio", 4.5, "x", at_least(4.0)),)),
            BenchResult("B2", "law", error="boom"),
        ]
    )
    assert "| B1 overhead | ratio | 4.50x | >= 4.00x | pass |" in text
    assert "| B2 law | (could not measure) | | | ERROR |" in text


def test_results_json_records_machine_and_figures(tmp_path: Path) -> None:
    """results.json holds the command, machine info and each figure with its verdict."""
    path = tmp_path / "results.json"
    result = BenchResult("B3", "polling", (Figure("span", 6.0, "s", at_most(5.0)),))
    write_results(path, [result], ["--only", "B3"], quick=True)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["command"] == "python -m bench --only B3"
    assert data["passed"] is False
    assert {"cpu_count", "cpu_model", "python", "date", "git_commit"} <= data["machine"].keys()
    figure = data["benchmarks"]["B3"]["figures"][0]
    assert figure["verdict"] == "FAIL"
    assert figure["goal"] == {"op": "<=", "target": 5.0}


def test_steady_rate_ignores_ramp_and_drain_of_waves() -> None:
    """Ten waves of 200 completions a second apart are 200 items/s, not 1,999 / 9 s."""
    times = [float(wave) + i * 1e-4 for wave in range(1, 11) for i in range(200)]
    assert steady_rate(times, 200) == pytest.approx(200.0, rel=0.01)


def test_steady_rate_of_an_even_flow_is_its_rate() -> None:
    """Completions evenly spaced at 150/s give 150/s."""
    times = [1.0 + i / 150 for i in range(2000)]
    assert steady_rate(times, 200) == pytest.approx(150.0)


def test_steady_rate_needs_more_than_two_windows() -> None:
    """Too few completions to leave out ramp and drain is an error, not a number."""
    with pytest.raises(BenchError):
        steady_rate([float(i) for i in range(400)], 200)


def test_only_parses_case_insensitively_and_rejects_unknown_keys() -> None:
    """--only takes a comma list of known benchmarks."""
    assert parse_args(["--only", "b1, B3"]).only == ["B1", "B3"]
    with pytest.raises(SystemExit):
        parse_args(["--only", "B9"])
