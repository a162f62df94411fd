"""`runner plan` on the shipped example jobs, through `python -m runner`.

Counts and costs are checked against figures worked out by hand below from the catalog's list
prices and token tables (runner/catalog/models.yaml), not against the planner's own arithmetic.
Also: the text table, done/remaining after a run, unpriced models, and `runner schema`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.acceptance.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "jobs"
PLAN_KEYS = {
    "items",
    "images",
    "done",
    "remaining",
    "est_cost_usd",
    "unpriced_models",
    "est_duration_s",
    "by_model",
}


@dataclass(frozen=True)
class Expected:
    """A job's plan worked out by hand: per model (size, items, images, USD)."""

    name: str
    by_model: Mapping[str, tuple[str, int, int, float]]
    duration_s: float

    @property
    def items(self) -> int:
        return sum(items for _, items, _, _ in self.by_model.values())

    @property
    def images(self) -> int:
        return sum(images for _, _, images, _ in self.by_model.values())

    @property
    def cost(self) -> float:
        return sum(cost for *_, cost in self.by_model.values())


# jobs/quickstart.yaml: "a white cat sitting on a windowsill watching rain" (49 characters) and
# "a {animal} in {style} style" over 2 animals x 2 styles ("a fox in watercolor style" 25,
# "a fox in pixel art style" 24, "a owl in watercolor style" 25, "a owl in pixel art style" 24):
# 5 prompts x 4 models, one size each, n = 1: 20 items, 20 images.
# Text tokens are ceil(characters / 4): 13 + 7 + 6 + 7 + 6 = 39.
QUICKSTART = Expected(
    "quickstart",
    {
        "dall-e-2": ("256x256", 5, 5, 5 * 0.016),  # $0.016 per 256x256 image = $0.08
        "dall-e-3": ("1024x1024", 5, 5, 5 * 0.040),  # standard square $0.04 = $0.20
        # low 1024x1024 = 272 output tokens at $40/M = $0.01088 per image, x 5 = $0.0544;
        # plus 39 text tokens at $5/M = $0.000195; $0.054595 in all
        "gpt-image-1": ("1024x1024", 5, 5, 5 * 272 * 40 / 1e6 + 39 * 5 / 1e6),
        "flux-pro": ("1024x1024", 5, 5, 5 * 0.04),  # $0.04 per image = $0.20
    },
    # provider: sim: sync answers take 0 s; flux-pro's tasks take the simulator's default 2 s,
    # the longest single request; 8 POST slots and 200 task slots are never the bound
    duration_s=2.0,
)
# jobs/mixed-async.yaml: "a koi pond in autumn, seen from above" (37 characters) and
# "an isometric {building} at night, neon signs" over bakery (40), library (41),
# train station (47): 4 prompts x 3 models: 12 items, 12 images. Text tokens 10+10+11+12 = 43.
MIXED_ASYNC = Expected(
    "mixed-async",
    {
        "flux-pro": ("1024x1024", 4, 4, 4 * 0.04),  # $0.16
        "midjourney": ("1024x1024", 4, 4, 4 * 0.05),  # $0.05 per request: $0.20
        # medium 1024x1536 = 1,584 output tokens at $40/M = $0.06336 per image, x 4 = $0.25344;
        # plus 43 text tokens at $5/M = $0.000215; $0.253655 in all
        "gpt-image-1": ("1024x1536", 4, 4, 4 * 1584 * 40 / 1e6 + 43 * 5 / 1e6),
    },
    duration_s=1.0,  # the manifest's simulated tasks take 1 s
)
EXAMPLES = [
    pytest.param("quickstart.yaml", QUICKSTART, id="quickstart"),
    pytest.param("mixed-async.yaml", MIXED_ASYNC, id="mixed-async"),
]


def _plan_json(job: Path, out: Path) -> dict[str, Any]:
    result = run_cli("plan", job, "--json", "--out", out)
    assert result.returncode == 0, result.stderr
    plan: dict[str, Any] = json.loads(result.stdout)
    return plan


def _plan_text(job: Path, out: Path) -> list[str]:
    result = run_cli("plan", job, "--out", out)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _table(lines: list[str]) -> dict[str, list[str]]:
    """The plan table's rows by their first cell (the header is line 3; a blank line ends it)."""
    assert lines[2].split()[:4] == ["model", "size", "items", "images"]
    end = lines.index("", 3)
    return {line.split()[0]: line.split()[1:] for line in lines[3:end]}


def _usd(value: float) -> str:
    """How the text table shows a cost under a dollar (four decimals)."""
    return f"${value:.4f}"


@pytest.mark.parametrize(("job", "expected"), EXAMPLES)
def test_plan_json_matches_hand_computed_figures(
    job: str, expected: Expected, tmp_path: Path
) -> None:
    """`plan --json` has the contract's keys and the hand-computed counts and costs."""
    plan = _plan_json(JOBS / job, tmp_path / "out")
    assert set(plan) == PLAN_KEYS
    assert (plan["items"], plan["images"]) == (expected.items, expected.images)
    assert (plan["done"], plan["remaining"]) == (0, expected.items)
    assert plan["est_cost_usd"] == pytest.approx(expected.cost)
    assert plan["unpriced_models"] == []
    assert plan["est_duration_s"] == pytest.approx(expected.duration_s)
    by_model = {
        m: (next(iter(p["by_size"])), p["items"], p["images"], p["est_cost_usd"])
        for m, p in plan["by_model"].items()
    }
    assert by_model == {
        m: (size, items, images, pytest.approx(cost))
        for m, (size, items, images, cost) in expected.by_model.items()
    }


@pytest.mark.parametrize(("job", "expected"), EXAMPLES)
def test_plan_text_names_every_model_and_the_total(
    job: str, expected: Expected, tmp_path: Path
) -> None:
    """The table has one row per model (size, items, images, cost) and the total row."""
    lines = _plan_text(JOBS / job, tmp_path / "out")
    n = expected.items
    assert lines[0] == (
        f"Plan for {expected.name}: {n} items, {expected.images} images; 0 done, {n} remaining"
    )
    rows = _table(lines)
    for model, (size, items, images, cost) in expected.by_model.items():
        assert rows[model][:5] == [size, str(items), str(images), _usd(cost), "0"]
    total = _usd(expected.cost)
    assert rows["total"] == [str(n), str(expected.images), total, "0"]
    assert f"Estimated cost: {total} for all items, {total} for the {n} remaining" in lines


def test_plan_after_a_run_shows_everything_done(tmp_path: Path) -> None:
    """After `runner run` finishes a job, its plan has done == items and nothing remaining."""
    job, out = JOBS / "mixed-async.yaml", tmp_path / "out"
    result = run_cli("run", job, "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    plan = _plan_json(job, out)
    assert (plan["items"], plan["done"], plan["remaining"]) == (12, 12, 0)
    assert plan["est_cost_usd"] == pytest.approx(MIXED_ASYNC.cost)
    lines = _plan_text(job, out)
    assert lines[0] == "Plan for mixed-async: 12 items, 12 images; 12 done, 0 remaining"
    cost = _usd(MIXED_ASYNC.cost)
    assert f"Estimated cost: {cost} for all items, $0.00 for the 0 remaining" in lines


UNPRICED_JOB = """\
provider: sim
prompts: ["a cat", "a dog"]
models:
  - name: dall-e-2
    sizes: [256x256]
  - gemini-2.5-flash-image   # in the catalog, but no price source
  - foo-xl                   # not in the catalog at all
"""


def test_unpriced_models_are_listed(tmp_path: Path) -> None:
    """Models without a price are listed, cost null, and left out of the total (not as $0)."""
    job = tmp_path / "job.yaml"
    job.write_text(UNPRICED_JOB, encoding="utf-8")
    plan = _plan_json(job, tmp_path / "out")
    assert plan["unpriced_models"] == ["gemini-2.5-flash-image", "foo-xl"]
    costs = {m: p["est_cost_usd"] for m, p in plan["by_model"].items()}
    # dall-e-2: 2 prompts x $0.016 (256x256)
    assert costs == {
        "dall-e-2": pytest.approx(2 * 0.016),
        "gemini-2.5-flash-image": None,
        "foo-xl": None,
    }
    assert plan["est_cost_usd"] == pytest.approx(2 * 0.016)
    lines = _plan_text(job, tmp_path / "out")
    rows = _table(lines)
    assert rows["foo-xl"][:4] == ["-", "2", "2", "unpriced"]
    assert any(
        line.endswith("; not counted (unpriced): gemini-2.5-flash-image, foo-xl") for line in lines
    )


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """What `runner schema` prints, parsed."""
    result = run_cli("schema")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((JOBS / name).read_text(encoding="utf-8"))
    return data


def test_schema_describes_the_manifest(schema: dict[str, Any]) -> None:
    """The schema requires prompts and models, forbids unknown keys, knows every example key."""
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"prompts", "models"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    for name in ("quickstart.yaml", "mixed-async.yaml"):
        assert set(_example(name)) <= set(schema["properties"])


@pytest.mark.parametrize("name", ["quickstart.yaml", "mixed-async.yaml"])
def test_schema_validates_the_examples(schema: dict[str, Any], name: str) -> None:
    """A JSON Schema validator accepts each example job, and refuses it with a misspelt key."""
    jsonschema = pytest.importorskip("jsonschema")
    manifest = _example(name)
    jsonschema.validate(manifest, schema)
    manifest["concurency"] = manifest.pop("concurrency", 8)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, schema)


def test_schema_comment_of_quickstart_names_the_schema(schema: dict[str, Any]) -> None:
    """The editor comment in the quickstart points at a shipped file equal to `runner schema`."""
    text = (JOBS / "quickstart.yaml").read_text(encoding="utf-8")
    match = re.search(r"^# yaml-language-server: \$schema=(\S+)$", text, re.MULTILINE)
    assert match is not None
    target = JOBS / match.group(1)
    assert json.loads(target.read_text(encoding="utf-8")) == schema
