"""Async tasks, gateway style: created pending, polled through both URL styles, then finished."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from runner.sim import SimConfig
from runner.sim.catalog import validate
from runner.sim.state import SimState, TaskPhase

from .kit import Api, Decoded, error_of

TASK_ID = re.compile(r"^ldtask_[0-9a-f]{32}$")
POLL_STYLES = ("/v1/tasks/", "/v1/images/generations/")


def _final(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    """Create a task and poll it to its terminal answer."""
    return api.poll_until_terminal(api.post(body).json()["poll_url"])[-1]


def test_async_models_answer_with_a_pending_task(api: Api) -> None:
    """The create answer: task_id, status pending, a relative poll_url, placeholder url slots."""
    answer = api.post({"model": "midjourney", "prompt": "a castle", "n": 2}).json()
    assert TASK_ID.match(answer["task_id"])
    assert answer["status"] == "pending"
    assert answer["poll_url"] in {style + answer["task_id"] for style in POLL_STYLES}
    assert answer["data"] == [{"url": ""}, {"url": ""}]
    assert isinstance(answer["created"], int)


def test_both_poll_url_styles_are_handed_out(api: Api) -> None:
    """Across tasks, both documented poll URL styles occur (decided by the task id)."""
    urls = [
        api.post({"model": "flux-pro", "prompt": f"p{i}"}).json()["poll_url"] for i in range(16)
    ]
    assert {next(s for s in POLL_STYLES if url.startswith(s)) for url in urls} == set(POLL_STYLES)


@pytest.mark.parametrize("style", POLL_STYLES)
def test_lifecycle_through_each_poll_style(api: Api, style: str) -> None:
    """Phases only move forward to completed, progress rises, and image URLs come at the end."""
    answer = api.post({"model": "ideogram-v3", "prompt": "a sign", "size": "512x768"}).json()
    polls = api.poll_until_terminal(style + answer["task_id"])
    statuses = [p["status"] for p in polls]
    assert statuses[-1] == "completed"
    assert statuses == sorted(statuses, key=["pending", "processing", "completed"].index)
    progress = [p["progress"] for p in polls]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    final = polls[-1]
    assert final["id"] == final["task_id"] == answer["task_id"]
    assert final["poll_url"] == answer["poll_url"]
    assert final["model"] == "ideogram-v3"
    assert final["updated"] >= final["created"]
    assert api.images(final) == [Decoded("png", 512, 768)]


def test_pending_task_shows_placeholder_urls(make_api: Callable[..., Api]) -> None:
    """Before completion, data holds url "" slots that a client must not take for images."""
    api = make_api(task_seconds=3600)
    answer = api.post({"model": "flux-1.1-pro", "prompt": "slow"}).json()
    poll = api.get(f"/v1/images/{answer['task_id']}").json()
    assert (poll["status"], poll["progress"]) == ("pending", 0)
    assert poll["data"] == [{"url": ""}]
    assert "error" not in poll


def test_phases_follow_the_clock() -> None:
    """pending for the first fifth of task_seconds, then processing with progress, then done."""
    state = SimState(SimConfig(task_seconds=10.0), clock=lambda: 100.0)
    state.files_origin = "http://127.0.0.1:1"
    task = state.create_task(validate({"model": "flux-pro", "prompt": "cat"}), "key", 0)
    seen = [state.phase(task, 100.0 + t) for t in (0.0, 1.9, 2.0, 5.0, 9.99, 10.0, 50.0)]
    assert seen == [
        (TaskPhase.PENDING, 0.0),
        (TaskPhase.PENDING, 0.0),
        (TaskPhase.PROCESSING, 20.0),
        (TaskPhase.PROCESSING, 50.0),
        (TaskPhase.PROCESSING, 99.0),
        (TaskPhase.COMPLETED, 100.0),
        (TaskPhase.COMPLETED, 100.0),
    ]


def test_gpt_image_2_is_async_only_when_asked(api: Api) -> None:
    """gpt-image-2: sync b64 normally; with "async": true a task whose result is URLs + usage."""
    body = {"model": "gpt-image-2", "prompt": "cat", "quality": "low", "size": "1024x1024"}
    sync = api.post(body).json()
    assert "b64_json" in sync["data"][0]
    task = api.post({**body, "async": True}).json()
    final = api.poll_until_terminal(task["poll_url"])[-1]
    assert final["status"] == "completed"
    assert final["usage"] == sync["usage"]
    assert api.images(final) == [Decoded("png", 1024, 1024)]


def test_force_async_turns_a_sync_model_into_tasks(make_api: Callable[..., Api]) -> None:
    """Models named in force_async answer as tasks."""
    api = make_api(force_async=frozenset({"dall-e-3"}))
    answer = api.post({"model": "dall-e-3", "prompt": "cat"}).json()
    assert answer["status"] == "pending"
    assert api.poll_until_terminal(answer["poll_url"])[-1]["status"] == "completed"


def test_failed_tasks_carry_a_string_error_and_sometimes_cancelled(
    make_api: Callable[..., Api],
) -> None:
    """task_fail_rate=1: every task ends failed with a string error; some say cancelled."""
    api = make_api(task_fail_rate=1.0, task_seconds=0.0)
    finals = [_final(api, {"model": "flux-pro", "prompt": f"p{i}"}) for i in range(24)]
    assert all(f["status"] == "failed" and f["data"] == [] for f in finals)
    assert all(isinstance(f["error"], str) and f["error"] for f in finals)
    cancelled = [f for f in finals if f.get("cancelled")]
    assert 0 < len(cancelled) < len(finals)


def test_task_failure_share_is_roughly_the_rate(make_api: Callable[..., Api]) -> None:
    """task_fail_rate=0.3 fails about 30% of 200 tasks (the draw is per task id)."""
    api = make_api(task_fail_rate=0.3, task_seconds=0.0)
    finals = [_final(api, {"model": "midjourney", "prompt": f"p{i}"}) for i in range(200)]
    failed = sum(f["status"] == "failed" for f in finals)
    assert 40 <= failed <= 80


@pytest.mark.parametrize("path", ["/v1/tasks/", "/v1/images/generations/", "/v1/images/"])
def test_unknown_task_is_a_404_async_task_not_found(api: Api, path: str) -> None:
    """Every poll alias answers an unknown id with LemonData's async_task_not_found."""
    response = api.get(path + "ldtask_" + "0" * 32)
    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["type"]) == ("async_task_not_found", "invalid_request_error")
    assert error["message"] == "Task not found or no longer available."
