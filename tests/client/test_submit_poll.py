"""Generation answers (sync and async), poll URL resolution, task status, and model listing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from runner.client import ProviderClient
from runner.client.errors import AmbiguousError, TaskFailedError
from runner.types import ErrorInfo, ErrorKind, ImageRef, TaskState

from .kit import API_KEY, Reply, ScriptServer

GEN = "/v1/images/generations"
BODY = {"model": "gpt-image-1", "prompt": "a fox", "size": "1024x1024", "n": 2}
USAGE = {
    "input_tokens": 50,
    "output_tokens": 4160,
    "total_tokens": 4210,
    "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
}


@pytest.mark.asyncio
async def test_submit_sends_json_with_bearer_and_extra_headers(
    server: ScriptServer, client: ProviderClient
) -> None:
    """The POST goes to {base_url}/images/generations with the body, key and extra headers."""
    server.on("POST", GEN, Reply(json={"created": 1, "data": [{"url": "https://x.test/a.png"}]}))
    await client.submit(BODY)
    (seen,) = server.seen
    assert (seen.method, seen.path) == ("POST", GEN)
    assert seen.json() == BODY
    assert seen.headers["Authorization"] == f"Bearer {API_KEY}"
    assert seen.headers["X-Extra"] == "extra-value"
    assert seen.headers["Content-Type"] == "application/json"


@pytest.mark.asyncio
async def test_sync_url_answer(server: ScriptServer, client: ProviderClient) -> None:
    """A sync answer with URLs gives its images, revised prompts kept exactly, and no task."""
    data = [
        {"url": "https://cdn.test/1.png", "revised_prompt": "  A fluffy fox, exactly "},
        {"url": "https://cdn.test/2.png"},
    ]
    server.on("POST", GEN, Reply(json={"created": 1706000000, "data": data}))
    submission = await client.submit(BODY)
    assert not submission.is_async
    assert submission.images == (
        ImageRef(url="https://cdn.test/1.png", revised_prompt="  A fluffy fox, exactly "),
        ImageRef(url="https://cdn.test/2.png"),
    )
    assert submission.usage is None


@pytest.mark.asyncio
async def test_sync_b64_answer_with_usage(server: ScriptServer, client: ProviderClient) -> None:
    """A GPT-image style answer gives b64 images and its token usage."""
    answer = {"created": 1, "data": [{"b64_json": "aGVsbG8="}], "usage": USAGE, "size": "1024x1024"}
    server.on("POST", GEN, Reply(json=answer))
    submission = await client.submit(BODY)
    assert submission.images == (ImageRef(b64_json="aGVsbG8="),)
    assert submission.usage == USAGE
    assert submission.task_id is None


@pytest.mark.asyncio
async def test_sync_answer_with_id_and_completed_status_is_not_a_task(
    server: ScriptServer, client: ProviderClient
) -> None:
    """Images in hand win: a completed answer that also names a task is used as is."""
    answer = {
        "id": "img_1",
        "task_id": "ldtask_done",
        "status": "completed",
        "data": [{"url": "https://cdn.test/1.png"}],
    }
    server.on("POST", GEN, Reply(json=answer))
    submission = await client.submit(BODY)
    assert not submission.is_async
    assert submission.images == (ImageRef(url="https://cdn.test/1.png"),)


ASYNC_ANSWERS = [
    # LemonData's documented shape: status pending, task_id, relative poll_url, placeholder data.
    (
        {"created": 1, "task_id": "ldtask_a", "status": "pending", "poll_url": "/v1/tasks/ldtask_a",
         "data": [{"url": "", "revised_prompt": "a fox"}]},
        "ldtask_a", "/v1/tasks/ldtask_a",
    ),
    # status processing, id (no task_id), no poll_url: the default tasks URL.
    ({"created": 1, "id": "ldtask_b", "status": "processing", "data": []}, "ldtask_b",
     "/v1/tasks/ldtask_b"),
    # No status at all: task_id alone, with an empty data list.
    ({"created": 1, "task_id": "ldtask_c", "data": []}, "ldtask_c", "/v1/tasks/ldtask_c"),
    # poll_url alone: the task id is its last segment; the alias path is followed as given.
    ({"poll_url": "/v1/images/generations/ldtask_d"}, "ldtask_d",
     "/v1/images/generations/ldtask_d"),
]  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(("answer", "task_id", "path"), ASYNC_ANSWERS)
async def test_async_answer_detected_from_the_answer(
    server: ScriptServer, client: ProviderClient, answer: Any, task_id: str, path: str
) -> None:
    """Any of pending/processing status, task_id or poll_url (without images) means a task."""
    server.on("POST", GEN, Reply(json=answer))
    submission = await client.submit(BODY)
    assert submission.is_async
    assert submission.task_id == task_id
    assert submission.poll_url == server.origin + path
    assert submission.images == ()


@pytest.mark.asyncio
async def test_submit_answer_already_failed_raises_task_failed(
    server: ScriptServer, client: ProviderClient
) -> None:
    """A task that failed before the POST returned spends the attempt as a failed task."""
    answer = {"task_id": "t9", "status": "failed", "error": "upstream moderation"}
    server.on("POST", GEN, Reply(json=answer))
    with pytest.raises(TaskFailedError) as caught:
        await client.submit(BODY)
    assert caught.value.info.kind is ErrorKind.TASK_FAILED
    assert caught.value.info.message == "upstream moderation"


@pytest.mark.asyncio
async def test_poll_url_resolves_against_origin_not_base_path(
    make_server: Callable[[], Awaitable[ScriptServer]],
) -> None:
    """With base_url http://h/proxy/v1, poll_url /v1/tasks/x means http://h/v1/tasks/x."""
    server = await make_server()
    answer = {"task_id": "x", "status": "pending", "poll_url": "/v1/tasks/x"}
    server.on("POST", "/proxy/v1/images/generations", Reply(json=answer))
    server.on("GET", "/v1/tasks/x", Reply(json={"status": "processing", "progress": 40}))
    async with ProviderClient(f"{server.origin}/proxy/v1/", API_KEY) as client:
        submission = await client.submit(BODY)
        assert submission.poll_url == f"{server.origin}/v1/tasks/x"
        status = await client.poll("x", submission.poll_url)
    assert status.state is TaskState.PENDING
    assert status.progress == 40.0
    assert [seen.path for seen in server.seen] == ["/proxy/v1/images/generations", "/v1/tasks/x"]


@pytest.mark.asyncio
async def test_absolute_poll_url_kept_on_same_origin_replaced_on_another(
    make_server: Callable[[], Awaitable[ScriptServer]],
) -> None:
    """A same-origin absolute poll_url is kept; another origin's is not trusted with the key."""
    server, other = await make_server(), await make_server()
    server.on(
        "POST",
        GEN,
        Reply(json={"task_id": "s1", "poll_url": f"{server.origin}/v1/images/generations/s1"}),
        Reply(json={"task_id": "o1", "poll_url": f"{other.origin}/v1/tasks/o1"}),
    )
    async with ProviderClient(server.base_url, API_KEY) as client:
        same = await client.submit(BODY)
        foreign = await client.submit(BODY)
    assert same.poll_url == f"{server.origin}/v1/images/generations/s1"
    assert foreign.poll_url == f"{server.base_url}/tasks/o1"


@pytest.mark.asyncio
async def test_poll_without_url_uses_base_tasks_and_quotes_the_id(
    server: ScriptServer, client: ProviderClient
) -> None:
    """poll(task_id, None) GETs {base_url}/tasks/{task_id}, with the id path-quoted."""
    server.on("GET", "/v1/tasks/a b/c", Reply(json={"status": "pending"}))
    status = await client.poll("a b/c", None)
    assert status.state is TaskState.PENDING
    assert server.seen[0].headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/v1/tasks/t1", "/v1/images/generations/t1"])
async def test_both_poll_styles_complete_with_images(
    server: ScriptServer, client: ProviderClient, path: str
) -> None:
    """Both documented poll addresses give the completed images and usage."""
    done = {
        "id": "t1",
        "status": "completed",
        "data": [{"url": "https://cdn.test/t1.png", "revised_prompt": "r"}],
        "usage": USAGE,
    }
    server.on("GET", path, Reply(json={"status": "pending"}), Reply(json=done))
    first = await client.poll("t1", path)
    second = await client.poll("t1", server.origin + path)
    assert first.state is TaskState.PENDING
    assert second.state is TaskState.COMPLETED
    assert second.images == (ImageRef(url="https://cdn.test/t1.png", revised_prompt="r"),)
    assert second.usage == USAGE
    assert len(server.requests_to(path)) == 2


FAILED_TASKS = [
    ({"status": "failed", "error": "Midjourney job banned"},
     ErrorInfo(ErrorKind.TASK_FAILED, "Midjourney job banned")),
    ({"status": "failed", "error": {"message": "Rejected by safety", "code": "moderation_blocked"}},
     ErrorInfo(ErrorKind.TASK_FAILED, "Rejected by safety", None, "moderation_blocked")),
    ({"status": "failed", "error": {"code": "upstream_timeout"}},
     ErrorInfo(ErrorKind.TASK_FAILED, "upstream_timeout", None, "upstream_timeout")),
    ({"status": "failed", "cancelled": True, "cancellation_status": "done"},
     ErrorInfo(ErrorKind.TASK_FAILED, "task cancelled")),
    ({"status": "processing", "cancelled": True, "error": "cancelled by user"},
     ErrorInfo(ErrorKind.TASK_FAILED, "cancelled by user")),
    ({"status": "completed", "data": [{"url": ""}]},
     ErrorInfo(ErrorKind.TASK_FAILED, "task completed without images", None, "no_images")),
]  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(("answer", "error"), FAILED_TASKS)
async def test_failed_or_cancelled_task_is_a_failed_status(
    server: ScriptServer, client: ProviderClient, answer: Any, error: ErrorInfo
) -> None:
    """Failed and cancelled tasks return FAILED with the error as string or object message."""
    server.on("GET", "/v1/tasks/t1", Reply(json=answer))
    status = await client.poll("t1", None)
    assert status.state is TaskState.FAILED
    assert status.error == error
    assert status.images == ()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "reply",
    [Reply(json={"status": "mystery"}), Reply(body=b'{"status": "pend'), Reply(json=["pending"])],
)
async def test_unreadable_poll_answer_is_ambiguous(
    server: ScriptServer, client: ProviderClient, reply: Reply
) -> None:
    """An unknown status, truncated JSON or a non-object poll answer raises AmbiguousError."""
    server.on("GET", "/v1/tasks/t1", reply)
    with pytest.raises(AmbiguousError) as caught:
        await client.poll("t1", None)
    assert caught.value.answered is True
    assert caught.value.info.http_status == 200


@pytest.mark.asyncio
async def test_list_models_filters_by_recommendation(
    server: ScriptServer, client: ProviderClient
) -> None:
    """list_models GETs /models?recommended_for=image and returns the data list."""
    models = [{"id": "gpt-image-2", "object": "model"}, {"id": "flux-pro", "object": "model"}]
    server.on("GET", "/v1/models", Reply(json={"object": "list", "data": models}))
    assert await client.list_models() == models
    assert await client.list_models(recommended_for=None) == models
    assert [seen.query for seen in server.seen] == [{"recommended_for": "image"}, {}]
    assert server.seen[0].headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.asyncio
async def test_no_api_key_sends_no_authorization(server: ScriptServer) -> None:
    """Without a key (the simulator) no Authorization header is invented."""
    server.on("POST", GEN, Reply(json={"data": [{"url": "https://cdn.test/1.png"}]}))
    async with ProviderClient(server.base_url, None) as client:
        await client.submit(BODY)
    assert "Authorization" not in server.seen[0].headers


def test_bad_base_url_is_rejected_before_any_io() -> None:
    """A base URL that is not http(s) is a configuration error raised at construction."""
    for bad in ["ftp://h/v1", "api.openai.com/v1", "http:///v1", "https://h/v1?x=1"]:
        with pytest.raises(ValueError, match="base URL"):
            ProviderClient(bad, API_KEY)
