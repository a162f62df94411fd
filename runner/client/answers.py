"""Reading 2xx answers: generation results, async task handles, task status, model lists.

Async answers are detected from the answer itself, never from the model name: gateways switch a
model between sync and async (``async: true``, load) without notice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runner.client.classify import classify_error_payload
from runner.client.errors import AmbiguousError, TaskFailedError, sanitize_message
from runner.client.urls import BaseUrl
from runner.types import ErrorInfo, ErrorKind, ImageRef, Submission, TaskState, TaskStatus

# LemonData documents pending/processing; the others are what other queues say for "not yet".
PENDING_STATES = frozenset(
    {"pending", "processing", "queued", "in_queue", "in_progress", "running", "starting"}
)
COMPLETED_STATES = frozenset({"completed", "succeeded", "success", "ready", "done"})
FAILED_STATES = frozenset({"failed", "error", "cancelled", "canceled", "aborted", "expired"})


def load_json(content: bytes, status: int) -> Any:
    """Parse a 2xx body; one that is not JSON was answered but is unusable (ambiguous)."""
    try:
        return json.loads(content)
    except ValueError:
        excerpt = sanitize_message(content[:200].decode("utf-8", "replace"))
        raise AmbiguousError(
            f"answer is not valid JSON: {excerpt}", http_status=status, code="invalid_json"
        ) from None


def parse_submission(payload: Any, status: int, base: BaseUrl, secret: str | None) -> Submission:
    """A generation answer: images now, or a task to poll at an absolute URL."""
    answer = _require_object(payload, status)
    images = image_refs(answer.get("data"))
    state = _state(answer)
    if answer.get("cancelled") is True or state in FAILED_STATES:
        info = task_error(answer, secret)
        raise TaskFailedError(info.message, http_status=status, code=info.code)
    if state in PENDING_STATES or (not images and _has_task_fields(answer)):
        return _task_handle(answer, status, base)
    if not images:
        if _is_error_only(answer):
            raise classify_error_payload(answer, status, secret)
        raise AmbiguousError("answer holds no image", http_status=status, code="missing_data")
    return Submission(images=images, usage=_usage(answer))


def parse_task_status(payload: Any, status: int, secret: str | None) -> TaskStatus:
    """One poll's answer; failure and cancellation are a status here, not an exception."""
    answer = _require_object(payload, status)
    state = _state(answer)
    progress = _progress(answer.get("progress"))
    if answer.get("cancelled") is True or state in FAILED_STATES:
        return TaskStatus(TaskState.FAILED, error=task_error(answer, secret), progress=progress)
    if state in PENDING_STATES:
        return TaskStatus(TaskState.PENDING, progress=progress)
    # No status but images: a poll alias answering in the sync shape, which only a finished
    # task can do.
    if state in COMPLETED_STATES or (state is None and image_refs(answer.get("data"))):
        return _completed(answer, progress)
    if state is None and _is_error_only(answer):
        raise classify_error_payload(answer, status, secret)
    shown = sanitize_message(repr(state)[:60], secret)
    raise AmbiguousError(f"unknown task status {shown}", http_status=status, code="bad_status")


def parse_models(payload: Any, status: int) -> list[dict[str, Any]]:
    """The ``data`` list of a models answer (a bare list is accepted too)."""
    models = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(models, list):
        raise AmbiguousError(
            "models answer has no data list", http_status=status, code="missing_data"
        )
    return [model for model in models if isinstance(model, dict)]


def image_refs(data: object) -> tuple[ImageRef, ...]:
    """The usable image slots; placeholders (``url: ""`` while a task runs) are skipped."""
    if not isinstance(data, list):
        return ()
    refs = []
    for entry in data:
        if not isinstance(entry, dict):
            continue
        url, b64 = _text(entry.get("url")), _text(entry.get("b64_json"))
        if url or b64:
            refs.append(ImageRef(url=url, b64_json=b64, revised_prompt=_revised(entry)))
    return tuple(refs)


def task_error(answer: Mapping[str, Any], secret: str | None) -> ErrorInfo:
    """Why a task failed: ``error`` may be a string (LemonData) or an OpenAI-style object."""
    error = answer.get("error")
    code = None
    if isinstance(error, Mapping):
        code = _text(error.get("code")) or _text(error.get("type"))
        message = _text(error.get("message")) or code
    else:
        message = _text(error)
    if not message:
        message = "task cancelled" if answer.get("cancelled") is True else "task failed"
    return ErrorInfo(ErrorKind.TASK_FAILED, sanitize_message(message, secret), None, code)


def _completed(answer: Mapping[str, Any], progress: float | None) -> TaskStatus:
    images = image_refs(answer.get("data"))
    if not images:
        info = ErrorInfo(ErrorKind.TASK_FAILED, "task completed without images", None, "no_images")
        return TaskStatus(TaskState.FAILED, error=info, progress=progress)
    return TaskStatus(TaskState.COMPLETED, images=images, usage=_usage(answer), progress=progress)


def _task_handle(answer: Mapping[str, Any], status: int, base: BaseUrl) -> Submission:
    poll_url = _text(answer.get("poll_url"))
    task_id = _text(answer.get("task_id")) or _text(answer.get("id"))
    if task_id is None and poll_url:
        task_id = poll_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None
    if task_id is None:
        raise AmbiguousError(
            "async answer without a task id", http_status=status, code="missing_task_id"
        )
    return Submission(
        task_id=task_id, poll_url=base.poll_url(task_id, poll_url), usage=_usage(answer)
    )


def _require_object(payload: Any, status: int) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise AmbiguousError("answer is not a JSON object", http_status=status, code="invalid_json")
    return payload


def _state(answer: Mapping[str, Any]) -> str | None:
    state = answer.get("status")
    return state.strip().lower() if isinstance(state, str) else None


def _has_task_fields(answer: Mapping[str, Any]) -> bool:
    return bool(_text(answer.get("task_id")) or _text(answer.get("poll_url")))


def _is_error_only(answer: Mapping[str, Any]) -> bool:
    return bool(answer.get("error")) and "data" not in answer


def _usage(answer: Mapping[str, Any]) -> Mapping[str, Any] | None:
    usage = answer.get("usage")
    return usage if isinstance(usage, dict) else None


def _progress(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _revised(entry: Mapping[str, Any]) -> str | None:
    # Kept exactly as returned (the contract), so an empty string stays an empty string.
    revised = entry.get("revised_prompt")
    return revised if isinstance(revised, str) else None
