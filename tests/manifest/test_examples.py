"""The example jobs under tests/manifest/data load, expand and plan as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.manifest import load_job, plan_job

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_loads_and_plans(path: Path) -> None:
    """Each example is valid, and its plan counts what expansion yields."""
    job = load_job(path, env={})
    items = list(job.iter_items())
    assert len(items) == plan_job(job).items == job.count() > 0


def test_quickstart() -> None:
    """Quickstart: 4 prompts x 3 models on the simulator, about $0.27, no key needed."""
    job = load_job(DATA / "quickstart.yaml", env={})
    assert job.settings.provider.sim == {}
    assert job.settings.provider.api_key_env is None
    assert job.warnings == ()
    plan = plan_job(job)
    # dall-e-2 256x256: 4 x 0.016 = 0.064; dall-e-3 standard 1024x1024: 4 x 0.04 = 0.16
    # gpt-image-1 low 1024x1024: 4 x 272 x $40/M = 0.04352, plus text tokens
    # 13 + 12 + 10 + 10 = 45 (prompts of 49, 45, 37, 37 characters) x $5/M = 0.000225
    assert (plan.items, plan.images) == (12, 12)
    assert plan.est_cost_usd == pytest.approx(0.064 + 0.16 + 0.04352 + 0.000225)
    assert plan.est_cost_usd < (job.settings.budget_usd or 0)


def test_mixed_async() -> None:
    """mixed-async: flux-pro and midjourney (tasks) beside gpt-image-1, simulator options kept."""
    job = load_job(DATA / "mixed-async.yaml", env={})
    assert job.settings.provider.sim == {"task_seconds": 1.0, "seed": 7}
    plan = plan_job(job)
    # flux-pro 4 x 0.04 = 0.16; midjourney 4 x 0.05 = 0.20 (per request)
    # gpt-image-1 medium 1024x1536: 4 x 1584 x $40/M = 0.25344, plus text tokens
    # 10 + 10 + 11 + 12 = 43 (37, 40, 41, 47 characters) x $5/M = 0.000215
    assert plan.items == 12
    assert plan.est_cost_usd == pytest.approx(0.16 + 0.20 + 0.25344 + 0.000215)
    assert plan.by_model["midjourney"].basis == "per request"


def test_full_example() -> None:
    """Every form at once: 12 prompts, four models, env defaults, pricing overrides."""
    job = load_job(DATA / "full.yaml", env={})
    assert job.settings.name == "full-example"
    assert job.settings.provider.base_url == "https://api.example.test/v1"
    assert job.prompt_count == 1 + 4 + 2 + 2 + 2 + 1
    assert job.warnings == (
        "model 'my-gateway-model' is not in the catalog: not validated, priced from `pricing`",
    )
    plan = plan_job(job)
    # dall-e-3: 12 x 2 sizes; gpt-image-1: 12 x 2 sizes x 2 repeats; gemini: 12 x 2; gateway: 12 x 2
    assert {m: p.total.items for m, p in plan.by_model.items()} == {
        "dall-e-3": 24,
        "gpt-image-1": 48,
        "gemini-3-pro-image-preview": 24,
        "my-gateway-model": 24,
    }
    # dall-e-3 hd: 12 x 0.08 + 12 x 0.12 = 2.40; gateway: 24 x 0.01 = 0.24
    # gpt-image-1 high: 24 x (4160 + 6208) x $40/M = 9.95328, plus 2 sizes x 2 repeats of the
    # prompts' text tokens at $5/M
    gpt = 24 * (4160 + 6208) * 40 / 1e6 + 4 * job.text_tokens * 5 / 1e6
    assert plan.by_model["gpt-image-1"].total.est_cost_usd == pytest.approx(gpt)
    assert plan.est_cost_usd == pytest.approx(2.40 + 0.24 + gpt)
    assert plan.unpriced_models == ("gemini-3-pro-image-preview",)


def test_full_example_prompt_meta_and_env() -> None:
    """File meta merges under row fields; ${VAR} overrides the defaults."""
    env = {"JOB_NAME": "nightly", "GATEWAY_URL": "http://127.0.0.1:7/v1"}
    job = load_job(DATA / "full.yaml", env=env)
    assert (job.settings.name, job.settings.provider.base_url) == (
        "nightly",
        "http://127.0.0.1:7/v1",
    )
    rows = {p.text: (p.prompt_id, dict(p.meta)) for p in job.prompts}
    assert rows["a ceramic mug on a wooden table, studio light"] == (
        "p1",
        {"batch": 7, "category": "kitchen"},
    )
    assert rows["a rainy street in Tokyo at night"] == ("tokyo", {"mood": "calm"})
    assert rows["a red panda eating bamboo"] == (None, {})
