"""plan_job: counts, cost and duration, checked against arithmetic written out here."""

from __future__ import annotations

import pytest

from runner.manifest import Job, plan_job
from tests.manifest.conftest import Workspace

JOB = """\
name: plan-test
provider: sim
prompts:
  - "aaaa"
  - "bbbbbbbb"
models:
  - name: dall-e-2
    sizes: [256x256, 512x512]
    params: {n: 2}
  - name: dall-e-3
    sizes: [1792x1024]
    params: {quality: hd}
  - name: gpt-image-1
    sizes: [1024x1024]
    params: {quality: low}
    repeats: 3
  - stable-diffusion-3
"""
# Prompts: "aaaa" = 1 text token, "bbbbbbbb" = 2 (4 characters per token, rounded up).
# dall-e-2: 2 prompts x 2 sizes = 4 items, n=2: 8 images;
#   256x256: 2 prompts x 2 images x 0.016 = 0.064; 512x512: 2 x 2 x 0.018 = 0.072 -> 0.136
# dall-e-3 hd 1792x1024: 2 items, 2 images, 2 x 0.12 = 0.24
# gpt-image-1 low 1024x1024, 3 repeats: 6 items, 6 images;
#   3 x (2 x 272 x $40/M + (1 + 2) text tokens x $5/M) = 3 x (0.02176 + 0.000015) = 0.065325
# stable-diffusion-3: no size, 2 items, 2 images, unpriced
# total: 14 items, 18 images, 0.136 + 0.24 + 0.065325 = 0.441325
GPT_COST = 3 * (2 * 272 * 40 / 1e6 + 3 * 5 / 1e6)


def test_plan_json_matches_hand_arithmetic(ws: Workspace) -> None:
    """plan --json has exactly the contract's keys with the figures computed above."""
    plan = plan_job(ws.load(JOB))
    assert plan.to_json() == {
        "items": 14,
        "images": 18,
        "done": 0,
        "remaining": 14,
        "est_cost_usd": round(0.136 + 0.24 + GPT_COST, 6),
        "unpriced_models": ["stable-diffusion-3"],
        "est_duration_s": 0.0,  # the simulator answers sync requests at once by default
        "by_model": {
            "dall-e-2": {
                "items": 4,
                "images": 8,
                "est_cost_usd": 0.136,
                "by_size": {
                    "256x256": {"items": 2, "images": 4, "est_cost_usd": 0.064},
                    "512x512": {"items": 2, "images": 4, "est_cost_usd": 0.072},
                },
            },
            "dall-e-3": {
                "items": 2,
                "images": 2,
                "est_cost_usd": 0.24,
                "by_size": {"1792x1024": {"items": 2, "images": 2, "est_cost_usd": 0.24}},
            },
            "gpt-image-1": {
                "items": 6,
                "images": 6,
                "est_cost_usd": round(GPT_COST, 6),
                "by_size": {
                    "1024x1024": {"items": 6, "images": 6, "est_cost_usd": round(GPT_COST, 6)}
                },
            },
            "stable-diffusion-3": {
                "items": 2,
                "images": 2,
                "est_cost_usd": None,
                "by_size": {"-": {"items": 2, "images": 2, "est_cost_usd": None}},
            },
        },
    }
    assert round(0.136 + 0.24 + GPT_COST, 6) == 0.441325


def test_plan_agrees_with_item_by_item_estimates(ws: Workspace) -> None:
    """The counter-based plan equals summing Pricer.estimate over every expanded item."""
    job = ws.load(JOB)
    items = list(job.iter_items())
    summed = sum(job.pricer.estimate(i) or 0.0 for i in items)
    plan = plan_job(job)
    assert plan.est_cost_usd == pytest.approx(summed)
    assert (plan.items, plan.images) == (len(items), sum(i.images_expected for i in items))


def test_done_counts_from_the_state_db(ws: Workspace) -> None:
    """Done counts per model reduce what remains; counts beyond a model's items are capped."""
    plan = plan_job(ws.load(JOB), {"dall-e-2": 1, "gpt-image-1": 10, "retired-model": 5})
    assert (plan.done, plan.remaining) == (1 + 6, 14 - 7)
    # remaining cost: dall-e-2 0.136 x 3/4 + dall-e-3 0.24 + gpt-image-1 none left
    assert plan.est_remaining_cost_usd == pytest.approx(0.102 + 0.24)
    assert plan.to_json()["est_cost_usd"] == 0.441325  # the whole job, done or not


def duration_job(ws: Workspace, extra: str = "") -> Job:
    return ws.load(
        "provider: {base_url: 'https://gw.example/v1'}\nconcurrency: 2\nmax_pending_tasks: 3\n"
        f'{extra}prompts: ["a", "b", "c"]\nmodels: [dall-e-3, flux-pro]\n'
    )


def test_duration_bounds(ws: Workspace) -> None:
    """dall-e-3 sync (15 s) and flux-pro async (30 s task + 2 s submit), 3 prompts each.

    POST slots: (3 x 15 + 3 x 2) / 2 = 25.5 s; task slots: 3 x 30 / 3 = 30 s;
    the longest single item: 30 + 2 = 32 s. The largest bound wins: 32 s.
    """
    assert plan_job(duration_job(ws)).est_duration_s == pytest.approx(32.0)


def test_duration_rate_limits(ws: Workspace) -> None:
    """6 requests at 6/min take 60 s; 6 images at 4/min take 90 s."""
    rpm = duration_job(ws, "rate_limit: {requests_per_minute: 6}\n")
    assert plan_job(rpm).est_duration_s == pytest.approx(60.0)
    ipm = duration_job(ws, "rate_limit: {requests_per_minute: 6, images_per_minute: 4}\n")
    assert plan_job(ipm).est_duration_s == pytest.approx(90.0)


def test_duration_counts_only_remaining_items(ws: Workspace) -> None:
    """With dall-e-3 done, only flux-pro is left: tasks 3 x 30 / 3 = 30, tail 32 -> 32 s."""
    rpm = duration_job(ws, "rate_limit: {requests_per_minute: 6}\n")
    # rate bound now: 3 requests x 60 / 6 = 30 s, under the 32 s tail
    assert plan_job(rpm, {"dall-e-3": 3}).est_duration_s == pytest.approx(32.0)
    assert plan_job(rpm, {"dall-e-3": 3, "flux-pro": 3}).est_duration_s == 0.0


def test_duration_uses_simulator_timings(ws: Workspace) -> None:
    """Against the simulator its latency_s and task_seconds replace the catalog's figures."""
    job = ws.load(
        "provider:\n  sim: {latency_s: 0.5, task_seconds: 4}\nconcurrency: 1\n"
        'prompts: ["a", "b"]\nmodels: [dall-e-2, midjourney]\n'
    )
    # POST slots: 2 x 0.5 (dall-e-2) + 2 x 0.5 (midjourney submits) = 2 s on 1 slot;
    # tasks: 2 x 4 / 200 pending = 0.04 s; longest item: 4 + 0.5 = 4.5 s
    assert plan_job(job).est_duration_s == pytest.approx(4.5)


def test_render(ws: Workspace) -> None:
    """The human table shows models, sizes, costs with their basis, unpriced models, duration."""
    text = plan_job(ws.load(JOB), {"dall-e-2": 1}).render()
    assert text == "\n".join(
        [
            "Plan for plan-test: 14 items, 18 images; 1 done, 13 remaining",
            "",
            "model               size         items  images  est. cost  done  estimate",
            "dall-e-2            256x256          2       4    $0.0640     1  per image",
            "                    512x512          2       4    $0.0720",
            "                    (all sizes)      4       8    $0.1360",
            "dall-e-3            1792x1024        2       2    $0.2400     0  per image",
            "gpt-image-1         1024x1024        6       6    $0.0653     0  estimated from token "
            "table; billed by tokens",
            "stable-diffusion-3  -                2       2   unpriced     0  unpriced",
            "total                               14      18    $0.4413     1",
            "",
            "Estimated cost: $0.4413 for all items, $0.4073 for the 13 remaining; not counted "
            "(unpriced): stable-diffusion-3",
            "Estimated duration: under 1s for the remaining items (concurrency 8; retries and "
            "rate-limit slow-downs not counted)",
        ]
    )


def test_render_budget_and_warnings(ws: Workspace) -> None:
    """A budget below the estimate is called out; warnings are listed."""
    priced = "pricing: {stable-diffusion-3: {per_image: 0.05}}\n"  # a budget needs every price
    text = plan_job(ws.load("budget_usd: 0.01\n" + priced + JOB)).render()
    assert "Budget: $0.0100 is below the estimate: the run stops when spending reaches it" in text
    text = plan_job(ws.load(JOB.replace("dall-e-2", "foo-xl"))).render()
    assert text.endswith(
        "Warnings:\n  - model 'foo-xl' is not in the catalog: not validated, not priced"
    )


def test_async_on_request_counts_as_a_task(ws: Workspace) -> None:
    """gpt-image-2 with `async: true` is planned as a task: 60 s task + 2 s submit = 62 s."""
    job = ws.load(
        "provider: {base_url: 'https://gw.example/v1'}\n"
        'prompts: ["a"]\nmodels: [{name: gpt-image-2, params: {async: true}}]\n'
    )
    assert plan_job(job).est_duration_s == pytest.approx(62.0)
