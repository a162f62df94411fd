"""The job manifest through the `runner` CLI: every form plans to the right counts, and every
validation error makes `plan` and `run` alike exit 2 with `file:line:col: key: message` lines,
before anything is sent or written.

The cases live in tests/acceptance/manifests/ (forms.yaml, errors.yaml: one case per key). The
tables call ``runner.cli.main`` in this process (the function `python -m runner` runs), because
a subprocess costs ~0.6 s of imports and the tables make ~70 calls; the tests at the end run the
real `python -m runner` on manifests holding every kind of problem, and every form, at once.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.cli import main
from runner.sim import SimServer
from tests.acceptance.conftest import KEY_ENV, run_cli

MANIFESTS = Path(__file__).parent / "manifests"
UNIT_PROMPTS = Path(__file__).parents[1] / "manifest" / "data" / "prompts"
GLOBAL = "; global params go to every model, so put it under the params of the models that take it"
RF_GPT = "GPT image models always return base64 (OpenAI answers 400 unknown_parameter; facts 1.5)"


@dataclass(frozen=True)
class Outcome:
    """What one CLI call returned and printed."""

    code: int
    out: str
    err: str


Cli = Callable[..., Outcome]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """`runner ARGS` in this process, in tmp_path, with the test key variable set."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(KEY_ENV, "sk-test-not-a-real-key")
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str | Path) -> Outcome:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse exits on bad flags
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


def _set_env(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str | None]) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def _provider(base_url: str, key_env: str = KEY_ENV) -> str:
    return f"provider:\n  base_url: {base_url}\n  api_key_env: {key_env}\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _cases(name: str, make: Callable[[Mapping[str, Any]], Any]) -> list[Any]:
    """One pytest.param per case of a data file, its id the case's key."""
    data = yaml.safe_load((MANIFESTS / name).read_text(encoding="utf-8"))
    params = []
    for case_id, raw in data.items():
        case = make(raw)
        reason = raw.get("xfail")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(case, id=case_id, marks=marks))
    return params


# -- every form plans to the right counts -------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """A manifest body and what `plan --json` must say per model: (items, images, est. cost)."""

    body: str
    by_model: Mapping[str, tuple[int, int, float]]
    env: Mapping[str, str | None] = field(default_factory=dict)  # None: the variable is unset
    manifest: str = "job.yaml"

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Form:
        by_model = {m: (int(i), int(n), float(c)) for m, (i, n, c) in raw["by_model"].items()}
        return cls(**{**raw, "by_model": by_model})


@pytest.fixture
def prompt_files(tmp_path: Path) -> Path:
    """The unit tests' prompt files (tests/manifest/data/prompts) copied to tmp_path/prompts."""
    return Path(shutil.copytree(UNIT_PROMPTS, tmp_path / "prompts"))


@pytest.mark.usefixtures("prompt_files")
@pytest.mark.parametrize("form", _cases("forms.yaml", Form.of))
def test_every_form_plans_to_the_right_counts(
    form: Form, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`plan --json` counts items, images and cost per model as the form's expansion says."""
    _set_env(monkeypatch, form.env)
    job = _write(tmp_path / form.manifest, form.body)
    result = cli("plan", job.relative_to(tmp_path), "--json", "--out", "out")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    got = {m: (p["items"], p["images"], p["est_cost_usd"]) for m, p in plan["by_model"].items()}
    assert got == {m: (i, n, pytest.approx(c)) for m, (i, n, c) in form.by_model.items()}
    assert plan["items"] == plan["remaining"] == sum(i for i, _, _ in form.by_model.values())
    assert plan["images"] == sum(n for _, n, _ in form.by_model.values())
    assert plan["est_cost_usd"] == pytest.approx(sum(c for _, _, c in form.by_model.values()))
    assert "error" not in result.err


# -- every validation error: exit 2, exact lines, nothing sent ----------------------------------


@dataclass(frozen=True)
class Bad:
    """A broken manifest body and the exact problem lines (without `runner: error: `).

    The provider block goes after the body, so body line numbers are the file's line numbers;
    ``provider=None`` points it at the test's simulator with the test key variable.
    """

    body: str
    lines: tuple[str, ...]
    copy: tuple[str, ...] = ()  # files of tests/acceptance/manifests/ to put beside job.yaml
    provider: str | None = None
    xfail: str | None = None  # a known bug, reported to the lead

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Bad:
        return cls(**{**raw, "lines": tuple(raw["lines"]), "copy": tuple(raw.get("copy", ()))})


def _write_bad(root: Path, case: Bad, base_url: str) -> Path:
    for name in case.copy:
        _write(root / name, (MANIFESTS / name).read_text(encoding="utf-8"))
    provider = case.provider if case.provider is not None else _provider(base_url)
    return _write(root / "job.yaml", case.body + provider)


def _args(command: str) -> list[str]:
    """`plan` or `run` on job.yaml, writing (if anything) to ./out."""
    return [command, "job.yaml", "--out", "out", *(["--quiet"] if command == "run" else [])]


@pytest.mark.parametrize("command", ["plan", "run"])
@pytest.mark.parametrize("case", _cases("errors.yaml", Bad.of))
def test_every_validation_error_exits_2_and_sends_nothing(
    case: Bad, command: str, cli: Cli, sim: SimServer, tmp_path: Path
) -> None:
    """Exit 2, exactly the expected error lines (so no traceback), no request, no output dir."""
    _write_bad(tmp_path, case, sim.base_url)
    result = cli(*_args(command))
    expected = [f"runner: error: {line}" for line in case.lines]
    assert (result.code, result.err.splitlines(), result.out) == (2, expected, "")
    assert sim.stats().generations == 0
    assert not (tmp_path / "out").exists()


# -- bad flags, paths and keys ------------------------------------------------------------------


@pytest.fixture
def good_job(tmp_path: Path, sim: SimServer) -> Path:
    """A valid one-item manifest pointing at the test's simulator."""
    body = 'prompts: ["a cat"]\nmodels: [{name: dall-e-2, sizes: [256x256]}]\n'
    return _write(tmp_path / "job.yaml", body + _provider(sim.base_url))


@pytest.mark.usefixtures("good_job")
@pytest.mark.parametrize(
    ("args", "last_line"),
    [
        (
            ["run", "--concurrency", "0"],
            "runner run: error: argument --concurrency: must be at least 1, got 0",
        ),
        (
            ["run", "--concurrency", "many"],
            "runner run: error: argument --concurrency: must be a whole number, got 'many'",
        ),
        (
            ["run", "--budget", "-1"],
            "runner run: error: argument --budget: must not be negative, got -1.0",
        ),
        (["run", "--limit", "0"], "runner run: error: argument --limit: must be at least 1, got 0"),
        (["plan", "--budget", "1"], "runner: error: unrecognized arguments: --budget 1"),
    ],
    ids=["concurrency-0", "concurrency-word", "budget-negative", "limit-0", "plan-budget"],
)
def test_bad_flags_exit_2_before_anything(
    args: list[str], last_line: str, cli: Cli, sim: SimServer, tmp_path: Path
) -> None:
    """A bad flag on a good manifest: argparse's usage and one error line, exit 2, no request."""
    result = cli(args[0], "job.yaml", "--out", "out", *args[1:])
    assert (result.code, result.err.splitlines()[-1]) == (2, last_line)
    assert result.err.startswith("usage: runner ")
    assert sim.stats().generations == 0
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args", [["plan"], ["run"], ["status"], ["report"], ["retry", "--failed"]], ids=lambda a: a[0]
)
def test_nonexistent_manifest_exits_2(args: list[str], cli: Cli, tmp_path: Path) -> None:
    """Every command that takes a manifest says which path does not exist, and exits 2."""
    result = cli(args[0], "missing.yaml", *args[1:])
    assert (result.code, result.err) == (2, "runner: error: missing.yaml: no such job manifest\n")
    assert list(tmp_path.iterdir()) == []


def test_missing_api_key_variable_exits_2_naming_it(tmp_path: Path, sim: SimServer) -> None:
    """`python -m runner run` without the key's variable: exit 2 naming it, nothing sent."""
    body = 'prompts: ["a cat"]\nmodels: [dall-e-2]\n'
    _write(tmp_path / "job.yaml", body + _provider(sim.base_url, "RUNNER_TEST_MISSING_KEY"))
    assert "RUNNER_TEST_MISSING_KEY" not in os.environ  # run_cli passes os.environ on
    result = run_cli("run", "job.yaml", "--out", "out", "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "runner: error: the API key variable RUNNER_TEST_MISSING_KEY is not set "
        "(provider.api_key_env in job.yaml)"
    ]
    assert sim.stats().generations == 0
    assert not (tmp_path / "out").exists()


def test_plan_needs_no_api_key(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`plan` sends nothing, so it works before the key's variable is set."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _write(tmp_path / "job.yaml", 'prompts: ["a cat"]\nmodels: [dall-e-2]\n')
    result = cli("plan", "job.yaml", "--json")
    assert (result.code, json.loads(result.out)["items"]) == (0, 1)


# -- the real entry point on whole manifests ----------------------------------------------------

SEVERAL_PROBLEMS = [
    "several-problems.yaml:3:7: name: environment variable RUNNER_UNSET_JOB_NAME is not set "
    "(write ${RUNNER_UNSET_JOB_NAME:-default} to give a default)",
    "several-problems.yaml:4:1: concurency: unknown key (did you mean `concurrency`?)",
    "several-problems.yaml:5:23: retry.max_attempts: must be an integer >= 1, got 'zero'",
    "several-problems.yaml:8:11: prompts[1].text: placeholder {style} is not declared in vars "
    "(declared: animal)",
    "several-problems.yaml:11:11: prompts[3].file: prompts/missing.txt: no such file",
    "several-problems.yaml:14:13: models[0].sizes[0]: dall-e-3 takes sizes 1024x1024, "
    "1792x1024, 1024x1792; got 512x512",
    "several-problems.yaml:15:17: models[0].params.n: dall-e-3 takes n=1",
    "several-problems.yaml:17:13: models[1].sizes[0]: gpt-image-2 cannot take 1000x1000: both "
    "sides must be multiples of 16",
    "several-problems.yaml:18:30: models[1].params.input_fidelity: gpt-image-2 does not accept "
    "`input_fidelity`: gpt-image-2 always uses high fidelity; gateways drop or refuse it "
    "(gateway docs)",
    "several-problems.yaml:20:26: models[2].params.resolution: gemini-2.5-flash-image does not "
    "accept `resolution`: Gemini Flash image models have no public resolution choice "
    "(gateway docs 001)",
    "several-problems.yaml:22:31: models[3].params.response_format: gpt-image-1 does not accept "
    f"`response_format`: {RF_GPT}",
    *(
        f"several-problems.yaml:24:17: params.style: {model} does not accept `style`: `style` "
        f"is for dall-e-3 only{GLOBAL}"
        for model in ("gpt-image-2", "gpt-image-1", "dall-e-2")
    ),
    "prompts/too-long.txt:3:1: prompts[2].file: prompt is 1,001 characters; dall-e-2 takes at "
    "most 1,000",
]


@pytest.mark.parametrize("command", ["plan", "run"])
def test_several_problems_are_listed_at_once(command: str, tmp_path: Path, sim: SimServer) -> None:
    """`python -m runner` lists every problem of a manifest in one go, exits 2, sends nothing."""
    result = run_cli(
        command,
        "several-problems.yaml",
        "--out",
        tmp_path / "out",
        cwd=MANIFESTS,
        env={"RUNNER_TEST_BASE_URL": sim.base_url},
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"runner: error: {line}" for line in SEVERAL_PROBLEMS]
    assert sim.stats().generations == 0
    assert not (tmp_path / "out").exists()


# What each prompt of every-form.yaml carries into metadata.jsonl: (prompt_id, meta).
EVERY_FORM_META: dict[str, tuple[str | None, dict[str, Any]]] = {
    "a white cat sitting on a windowsill": (None, {}),
    **{
        f"a {animal} in {style} style": (None, {"animal": animal, "style": style})
        for animal in ("cat", "fox")
        for style in ("watercolor", "pixel art")
    },
    "a red panda eating bamboo": (None, {"source": "txt"}),
    "a snow leopard on a rocky ledge": (None, {"source": "txt"}),
    "a rainy street in Tokyo at night": ("tokyo", {"mood": "calm"}),
    "a desert caravan at sunrise": (None, {"mood": "warm"}),
    "a ceramic mug on a wooden table, studio light": ("p1", {"category": "kitchen", "batch": 7}),
    "a leather backpack, three-quarter view": ("p2", {"category": "bags", "batch": 7}),
    "a hero shot of a red bicycle": ("hero", {"label": 3}),
}
# dall-e-2: 24 items x 2 images at 256x256 ($0.016) and 512x512 ($0.018): 12 x 2 x 0.034
# flux-pro: 24 items x 1 image at the manifest's own price: 24 x $0.5
EVERY_FORM_COST = 12 * 2 * (0.016 + 0.018) + 24 * 0.5


@pytest.fixture
def every_form_env(sim: SimServer) -> dict[str, str]:
    """What every-form.yaml reads: the simulator's URL and the ${FORMS_USER} it requires."""
    return {"RUNNER_TEST_BASE_URL": sim.base_url, "FORMS_USER": "nightly-7"}


def test_every_form_file_plans_from_another_directory(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, every_form_env: dict[str, str]
) -> None:
    """every-form.yaml's relative prompt paths resolve against its own directory."""
    _set_env(monkeypatch, every_form_env)
    result = cli("plan", MANIFESTS / "every-form.yaml", "--json", "--out", "out")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert (plan["items"], plan["images"]) == (48, 72)
    assert plan["est_cost_usd"] == pytest.approx(EVERY_FORM_COST)


def test_every_form_file_runs_with_ids_meta_and_params(
    tmp_path: Path, sim: SimServer, every_form_env: dict[str, str]
) -> None:
    """Running every-form.yaml writes each prompt's id and meta and the merged params."""
    out = tmp_path / "out"
    args = ("run", MANIFESTS / "every-form.yaml", "--out", out, "--quiet")
    result = run_cli(*args, cwd=tmp_path, env=every_form_env)
    assert result.returncode == 0, result.stderr
    text = (out / "metadata.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 72
    carried = {(r["prompt"], r["prompt_id"], json.dumps(r["meta"], sort_keys=True)) for r in rows}
    assert carried == {
        (prompt, prompt_id, json.dumps(meta, sort_keys=True))
        for prompt, (prompt_id, meta) in EVERY_FORM_META.items()
    }
    for row in rows:
        assert row["params"]["user"] == "nightly-7"
        assert row["params"]["n"] == (2 if row["model"] == "dall-e-2" else 1)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["cost_usd"]["total"] == pytest.approx(EVERY_FORM_COST)
