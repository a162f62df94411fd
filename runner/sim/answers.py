"""JSON bodies of the simulator's successful answers, in OpenAI's and LemonData's shapes."""

from __future__ import annotations

import json
import time
from typing import Any

from runner.sim import imaging
from runner.sim.catalog import MODELS, GenerationSpec
from runner.sim.state import SimState, Task, TaskPhase

_CREATED = 1_700_000_000  # the models list's fixed `created`, so its body can be precomputed


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def sync_answer(state: SimState, spec: GenerationSpec, key: str, occurrence: int) -> bytes:
    """``{created, data: [{url | b64_json, revised_prompt?}], usage?, ...}`` with n images."""
    if spec.response == "url":
        names = state.make_files(spec, key, occurrence, state.clock())
        data = [{"url": state.file_url(name)} for name in names]
    else:
        seed = state.config.seed
        data = [
            {"b64_json": imaging.encode_b64(spec.fmt, spec.width, spec.height, colour)}
            for colour in (
                imaging.colour_index(seed, spec.prompt, i, spec.model.name) for i in range(spec.n)
            )
        ]
    if spec.revised_prompt is not None:
        for item in data:
            item["revised_prompt"] = spec.revised_prompt
    answer: dict[str, Any] = {"created": int(time.time()), "data": data, **spec.extras}
    if spec.usage is not None:
        answer["usage"] = spec.usage
    return dumps(answer)


def task_created(task: Task) -> bytes:
    """The gateway's async answer: a task to poll, with placeholder image slots."""
    return dumps(
        {
            "created": task.created_wall,
            "task_id": task.task_id,
            "status": TaskPhase.PENDING.value,
            "poll_url": task.poll_url,
            "data": [{"url": ""} for _ in range(task.spec.n)],
        }
    )


def task_body(state: SimState, task: Task, now: float) -> bytes:
    """A poll answer: LemonData's task object at the task's current phase."""
    phase, progress = state.phase(task, now)
    elapsed = min(now - task.created_at, state.config.task_seconds)
    body: dict[str, Any] = {
        "id": task.task_id,
        "task_id": task.task_id,
        "poll_url": task.poll_url,
        "status": phase.value,
        "progress": progress,
        "created": task.created_wall,
        "updated": task.created_wall + int(elapsed),
        "model": task.spec.model.name,
        "data": _task_data(state, task, phase),
    }
    if phase is TaskPhase.FAILED:
        body["error"] = _task_error(task)
        if task.cancelled:
            body["cancelled"] = True
            body["cancellation_status"] = "cancelled"
    if phase is TaskPhase.COMPLETED and task.spec.usage is not None:
        body["usage"] = task.spec.usage
    return dumps(body)


def _task_data(state: SimState, task: Task, phase: TaskPhase) -> list[dict[str, str]]:
    if phase is TaskPhase.COMPLETED:
        return [{"url": state.file_url(name)} for name in task.files]
    if phase is TaskPhase.FAILED:
        return []
    return [{"url": ""} for _ in range(task.spec.n)]


def _task_error(task: Task) -> str:
    if task.cancelled:
        return "Task was cancelled by the upstream provider."
    return "Upstream provider failed to generate the image."


def models_list() -> bytes:
    """``GET /v1/models?recommended_for=image``: every model the simulator serves."""
    return dumps(
        {
            "object": "list",
            "data": [
                {
                    "id": spec.name,
                    "object": "model",
                    "created": _CREATED,
                    "owned_by": spec.owned_by,
                    "type": "image",
                    "mode": spec.mode.value,
                }
                for spec in MODELS.values()
            ],
        }
    )
