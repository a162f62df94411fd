"""Every row of the error taxonomy, decided over real HTTP from status AND body."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from runner.client import ProviderClient
from runner.client.errors import (
    AmbiguousError,
    FatalError,
    InvalidRequestError,
    ProviderError,
    RateLimitedError,
    RetryableError,
    TaskNotFoundError,
)
from runner.types import ErrorKind

from .kit import API_KEY, Reply, ScriptServer, assert_no_key

GEN = "/v1/images/generations"
BODY = {"model": "dall-e-3", "prompt": "a cat"}


def oai(code: str | None, type_: str = "invalid_request_error", **extra: Any) -> dict[str, Any]:
    """An OpenAI error envelope (all four keys, as the spec requires) plus gateway extras."""
    error = {"message": f"msg for {code}", "type": type_, "param": None, "code": code}
    return {"error": {**error, **extra}}


GENERATION_ROWS = [
    # (status, json body or text, headers, class, kind, code, retry_after)
    (408, None, {}, RetryableError, ErrorKind.RETRYABLE, None, None),
    (409, None, {}, RetryableError, ErrorKind.RETRYABLE, None, None),
    (500, oai("server_error", "server_error"), {}, RetryableError, ErrorKind.RETRYABLE,
     "server_error", None),
    (502, oai("upstream_error", "api_error"), {}, RetryableError, ErrorKind.RETRYABLE,
     "upstream_error", None),
    (503, oai("all_channels_failed", "api_error"), {"Retry-After": "3"}, RetryableError,
     ErrorKind.RETRYABLE, "all_channels_failed", 3.0),
    (504, None, {}, RetryableError, ErrorKind.RETRYABLE, None, None),
    (520, None, {}, RetryableError, ErrorKind.RETRYABLE, None, None),
    (521, None, {}, RetryableError, ErrorKind.RETRYABLE, None, None),
    (522, None, {}, RetryableError, ErrorKind.RETRYABLE, None, None),
    (523, None, {}, RetryableError, ErrorKind.RETRYABLE, None, None),
    (524, None, {}, RetryableError, ErrorKind.RETRYABLE, None, None),
    (429, oai("rate_limit_exceeded", "requests"), {"Retry-After": "7"}, RateLimitedError,
     ErrorKind.RATE_LIMITED, "rate_limit_exceeded", 7.0),
    (429, oai("rate_limit_exceeded", "requests"), {}, RateLimitedError, ErrorKind.RATE_LIMITED,
     "rate_limit_exceeded", None),
    (429, oai("insufficient_quota", "insufficient_quota"), {"Retry-After": "1"}, FatalError,
     ErrorKind.FATAL, "insufficient_quota", 1.0),
    (400, oai(None), {}, InvalidRequestError, ErrorKind.INVALID, "invalid_request_error", None),
    (400, oai("content_policy_violation"), {}, InvalidRequestError, ErrorKind.INVALID,
     "content_policy_violation", None),
    (400, oai("moderation_blocked", "image_generation_user_error"), {}, InvalidRequestError,
     ErrorKind.INVALID, "moderation_blocked", None),
    (400, oai("unknown_parameter"), {}, InvalidRequestError, ErrorKind.INVALID,
     "unknown_parameter", None),
    (400, oai("model_not_found"), {}, InvalidRequestError, ErrorKind.INVALID, "model_not_found",
     None),
    (404, oai("model_not_found"), {}, InvalidRequestError, ErrorKind.INVALID, "model_not_found",
     None),
    (404, None, {}, InvalidRequestError, ErrorKind.INVALID, None, None),
    (413, None, {}, InvalidRequestError, ErrorKind.INVALID, None, None),
    (422, {"detail": "prompt: field required"}, {}, InvalidRequestError, ErrorKind.INVALID, None,
     None),
    (400, oai("billing_hard_limit_reached"), {}, FatalError, ErrorKind.FATAL,
     "billing_hard_limit_reached", None),
    (401, oai("invalid_api_key"), {}, FatalError, ErrorKind.FATAL, "invalid_api_key", None),
    (401, oai("expired_api_key"), {}, FatalError, ErrorKind.FATAL, "expired_api_key", None),
    (401, None, {}, FatalError, ErrorKind.FATAL, None, None),
    (402, oai("insufficient_balance", "billing_error"), {}, FatalError, ErrorKind.FATAL,
     "insufficient_balance", None),
    (402, oai("quota_exceeded", "billing_error"), {}, FatalError, ErrorKind.FATAL,
     "quota_exceeded", None),
    (403, oai("access_denied", "permission_error"), {}, FatalError, ErrorKind.FATAL,
     "access_denied", None),
    # Gateway extras: an explicit retryable flag and a body retry_after.
    (400, oai("upstream_busy", retryable=True, retry_after=12), {}, RetryableError,
     ErrorKind.RETRYABLE, "upstream_busy", 12.0),
    (503, oai("bad_upstream_input", retryable=False), {}, InvalidRequestError, ErrorKind.INVALID,
     "bad_upstream_input", None),
    (400, None, {"x-should-retry": "true"}, RetryableError, ErrorKind.RETRYABLE, None, None),
    # The header wins over the body's retry_after.
    (429, oai("rate_limit_exceeded", retry_after=50), {"retry-after-ms": "1500"},
     RateLimitedError, ErrorKind.RATE_LIMITED, "rate_limit_exceeded", 1.5),
]  # fmt: skip


async def _submit_error(client: ProviderClient) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await client.submit(BODY)
    return caught.value


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "body", "headers", "cls", "kind", "code", "retry_after"), GENERATION_ROWS
)
async def test_generation_error_rows(
    server: ScriptServer,
    client: ProviderClient,
    status: int,
    body: Any,
    headers: dict[str, str],
    cls: type[ProviderError],
    kind: ErrorKind,
    code: str | None,
    retry_after: float | None,
) -> None:
    """A generation answer's status and body select exactly one class, kind, code and delay."""
    server.on("POST", GEN, Reply(status=status, json=body, headers=headers))
    exc = await _submit_error(client)
    assert type(exc) is cls
    assert (exc.info.kind, exc.info.http_status, exc.info.code) == (kind, status, code)
    assert exc.retry_after == retry_after
    assert exc.sent is True
    assert_no_key(exc)


@pytest.mark.asyncio
async def test_plain_text_proxy_body_becomes_short_message(
    server: ScriptServer, client: ProviderClient
) -> None:
    """A proxy's plain-text 502 is retryable and its text is the message."""
    server.on("POST", GEN, Reply(status=502, body="Bad Gateway\nupstream connect error"))
    exc = await _submit_error(client)
    assert type(exc) is RetryableError
    assert exc.info.message == "Bad Gateway upstream connect error"


@pytest.mark.asyncio
async def test_html_error_page_is_stripped_and_truncated(
    server: ScriptServer, client: ProviderClient
) -> None:
    """An HTML 503 page yields a tag-free, single-line, bounded message."""
    page = (
        "<html><head><style>body{color:red}</style><title>503</title></head><body>"
        "<h1>Service Temporarily Unavailable</h1>"
        + "<p>padding &amp; more</p>" * 100
        + "</body></html>"
    )
    server.on("POST", GEN, Reply(status=503, body=page, headers={"Content-Type": "text/html"}))
    exc = await _submit_error(client)
    assert type(exc) is RetryableError
    message = exc.info.message
    assert message.startswith("503 Service Temporarily Unavailable padding & more")
    assert "<" not in message
    assert "color:red" not in message
    assert len(message) <= 300


@pytest.mark.asyncio
async def test_unexpected_redirect_is_refused_with_its_target(
    server: ScriptServer, client: ProviderClient
) -> None:
    """A 3xx on the API is not followed: it is refused, naming where it pointed."""
    server.on("POST", GEN, Reply(status=301, headers={"Location": "https://elsewhere.test/v1"}))
    exc = await _submit_error(client)
    assert type(exc) is InvalidRequestError
    assert "https://elsewhere.test/v1" in exc.info.message
    assert len(server.seen) == 1


POLL_ROWS = [
    (404, None, TaskNotFoundError, ErrorKind.TASK_NOT_FOUND, None),
    (404, oai("async_task_not_found"), TaskNotFoundError, ErrorKind.TASK_NOT_FOUND,
     "async_task_not_found"),
    (400, oai("async_task_not_found"), TaskNotFoundError, ErrorKind.TASK_NOT_FOUND,
     "async_task_not_found"),
    (500, oai("server_error", "server_error"), RetryableError, ErrorKind.RETRYABLE,
     "server_error"),
    (429, oai("rate_limit_exceeded", "requests"), RateLimitedError, ErrorKind.RATE_LIMITED,
     "rate_limit_exceeded"),
    (401, oai("invalid_api_key"), FatalError, ErrorKind.FATAL, "invalid_api_key"),
    (400, oai(None), InvalidRequestError, ErrorKind.INVALID, "invalid_request_error"),
]  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "body", "cls", "kind", "code"), POLL_ROWS)
async def test_poll_error_rows(
    server: ScriptServer,
    client: ProviderClient,
    status: int,
    body: Any,
    cls: type[ProviderError],
    kind: ErrorKind,
    code: str | None,
) -> None:
    """A poll's error answer maps like a generation's, except that 404 means the task is gone."""
    server.on("GET", "/v1/tasks/t1", Reply(status=status, json=body))
    with pytest.raises(ProviderError) as caught:
        await client.poll("t1", None)
    assert type(caught.value) is cls
    assert (caught.value.info.kind, caught.value.info.code) == (kind, code)
    assert caught.value.info.http_status == status


@pytest.mark.asyncio
async def test_task_not_found_in_a_200_envelope(
    server: ScriptServer, client: ProviderClient
) -> None:
    """A 200 carrying only an async_task_not_found envelope is still TaskNotFoundError."""
    server.on("GET", "/v1/tasks/t1", Reply(json=oai("async_task_not_found")))
    with pytest.raises(TaskNotFoundError):
        await client.poll("t1", None)


@pytest.mark.asyncio
async def test_error_envelope_in_a_200_generation_is_ambiguous_unless_known(
    server: ScriptServer, client: ProviderClient
) -> None:
    """A 200 holding an unknown error and no data may have been charged: ambiguous, answered."""
    server.on("POST", GEN, Reply(json=oai("weird_thing")), Reply(json=oai("insufficient_quota")))
    first = await _submit_error(client)
    assert type(first) is AmbiguousError
    assert isinstance(first, AmbiguousError)
    assert first.answered is True
    assert first.info.code == "weird_thing"
    second = await _submit_error(client)
    assert type(second) is FatalError


async def _echo_key(request: web.Request) -> web.StreamResponse:
    """A careless server that echoes the credentials it got, in several places."""
    auth = request.headers.get("Authorization", "")
    key = auth.removeprefix("Bearer ")
    body = {"error": {"message": f"Incorrect API key provided: {key} ({auth})",
                      "type": "invalid_request_error", "code": "invalid_api_key"}}  # fmt: skip
    return web.json_response(body, status=401, headers={"X-Echo": auth})


async def _echo_key_text(request: web.Request) -> web.StreamResponse:
    return web.Response(status=500, text=f"<b>upstream got {request.headers['Authorization']}</b>")


@pytest.mark.asyncio
@pytest.mark.parametrize("handler", [_echo_key, _echo_key_text])
async def test_api_key_echoed_by_server_never_reaches_message(
    server: ScriptServer, client: ProviderClient, handler: Any
) -> None:
    """A server echoing the bearer token in its error body does not leak it into the error."""
    server.on("POST", GEN, handler)
    exc = await _submit_error(client)
    assert server.seen[0].headers["Authorization"] == f"Bearer {API_KEY}"
    assert "[REDACTED]" in exc.info.message
    assert_no_key(exc)


@pytest.mark.asyncio
async def test_key_of_any_shape_is_redacted(server: ScriptServer) -> None:
    """A key without the sk- shape is still redacted, because the client knows its own key."""
    key = "lemonPLAINkey987654321"
    server.on("POST", GEN, _echo_key)
    async with ProviderClient(server.base_url, key) as client:
        exc = await _submit_error(client)
    assert server.seen[0].headers["Authorization"] == f"Bearer {key}"
    assert key in server.seen[0].headers["Authorization"]
    assert key not in str(exc)
    assert key not in exc.info.message
    assert "Incorrect API key provided: [REDACTED]" in exc.info.message
