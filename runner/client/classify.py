"""Deciding which :mod:`runner.client.errors` class a failed exchange belongs to.

Decided from the HTTP status AND the error body, in this order (first match wins):

1. run-fatal: 401, 402, 403, or a billing/quota/key code in any status
   (``billing_hard_limit_reached`` arrives as a 400, ``insufficient_quota`` as a 429);
2. task not found: ``async_task_not_found`` anywhere, or a 404 when polling;
3. refused item: a content-policy, moderation, unknown-parameter or unknown-model code, any status;
4. 429: rate limited (retry, and slow down);
5. an explicit gateway hint (``error.retryable`` or ``x-should-retry``) decides retry vs refuse;
6. 408, 409 and 5xx retry; every other status (400, 404, 413, 422, unexpected 3xx) is refused.

Transport failures are split by whether the request can have reached the provider, from aiohttp's
exception types (the tree is drawn in :mod:`runner.client.errors`). A transport that wraps them
keeps them as the cause: when an aiohttp exception is in the cause chain, it decides.
"""

from __future__ import annotations

import enum
import json
import ssl
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runner.client.errors import (
    AmbiguousError,
    FatalError,
    InvalidRequestError,
    ProviderError,
    RateLimitedError,
    RetryableError,
    TaskNotFoundError,
    cap_retry_after,
    parse_retry_after,
    sanitize_message,
)
from runner.client.transport import Reply, TransportFailure

FATAL_CODES = frozenset(
    {
        "insufficient_quota",
        "billing_hard_limit_reached",
        "invalid_api_key",
        "expired_api_key",
        "insufficient_balance",
        "quota_exceeded",
    }
)
INVALID_CODES = frozenset(
    {"content_policy_violation", "moderation_blocked", "unknown_parameter", "model_not_found"}
)
TASK_NOT_FOUND_CODES = frozenset({"async_task_not_found", "task_not_found"})


def transport_errors() -> tuple[type[Exception], ...]:
    """Exceptions a transport may raise for one exchange; anything else is a bug and propagates.

    aiohttp's are among them only once aiohttp is loaded: until then none can exist, and a run's
    own process (which sends through the HTTP worker) never loads it.
    """
    aiohttp = sys.modules.get("aiohttp")
    builtin: tuple[type[Exception], ...] = (TimeoutError, ConnectionError)
    return builtin if aiohttp is None else (aiohttp.ClientError, *builtin)


def _never_sent() -> tuple[type[Exception], ...]:
    """The request provably never left: connecting failed, or no pool slot/connection in time.
    (ConnectionRefusedError decides only for a transport that raises it bare, not from aiohttp.)"""
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return (ConnectionRefusedError,)
    return (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, ConnectionRefusedError)


def _bad_url() -> tuple[type[Exception], ...]:
    aiohttp = sys.modules.get("aiohttp")
    return () if aiohttp is None else (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)


class Endpoint(enum.Enum):
    """Which call failed: a 404 means "task gone" only when polling."""

    GENERATE = "generate"
    POLL = "poll"
    MODELS = "models"


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What an error answer says about itself, whatever dialect it was written in."""

    message: str | None = None
    code: str | None = None
    type: str | None = None
    retryable: bool | None = None
    retry_after: float | None = None

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(label for label in (self.code, self.type) if label)


def classify_response(reply: Reply, endpoint: Endpoint, secret: str | None) -> ProviderError:
    """The exception for a non-2xx answer (its body, or an excerpt of it, already read)."""
    body = parse_error_body(reply.body)
    status = reply.status
    cls = _choose(status, body, _should_retry(body, reply.headers), endpoint)
    retry_after = parse_retry_after(reply.headers)
    return cls(
        _message(body, reply, secret),
        http_status=status,
        code=body.code or body.type,
        retry_after=body.retry_after if retry_after is None else retry_after,
    )


def classify_error_payload(
    payload: Mapping[str, Any], status: int, secret: str | None
) -> ProviderError:
    """The exception for a 2xx answer that carries only an ``error`` envelope.

    A known code decides as it would on an error status; otherwise the provider answered but gave
    us nothing usable, which is ambiguous (it may have charged).
    """
    body = _from_object(payload)
    cls = _choose_by_code(body, status, Endpoint.GENERATE) or AmbiguousError
    message = sanitize_message(body.message or "answer holds an error and no result", secret)
    return cls(message, http_status=status, code=body.code or body.type)


def classify_transport_error(exc: Exception, secret: str | None) -> ProviderError:
    """The exception for an exchange that produced no HTTP answer at all."""
    detail = sanitize_message(str(exc) or type(exc).__name__, secret)
    return _BY_KIND[failure_kind(exc)](detail)


def failure_kind(exc: BaseException) -> str:
    """What a failed exchange amounts to, as one word that survives a trip between processes.

    ``tls`` and ``bad_url`` stop the run; ``connect`` means the request never left; ``timeout``
    and ``lost`` mean it may have reached the provider (ambiguous).
    """
    if isinstance(exc, TransportFailure):  # already decided, by the HTTP worker process
        return exc.kind
    chain = list(_causes(exc))
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return "tls"
    if any(isinstance(e, _bad_url()) for e in chain):
        return "bad_url"
    deciding = _deciding(chain)
    if any(isinstance(e, _never_sent()) for e in deciding):
        return "connect"
    # aiohttp's SocketTimeoutError (no byte within sock_read) is a TimeoutError.
    if any(isinstance(e, TimeoutError) for e in deciding):
        return "timeout"
    return "lost"


_BY_KIND: dict[str, Callable[[str], ProviderError]] = {
    "tls": lambda d: FatalError(
        f"TLS certificate rejected: {d}", code="tls_certificate", sent=False
    ),
    "bad_url": lambda d: FatalError(f"request could not be built: {d}", code="bad_url", sent=False),
    "connect": lambda d: RetryableError(
        f"could not connect: {d}", code="connect_error", sent=False
    ),
    "timeout": lambda d: AmbiguousError(
        f"no answer before the read timeout: {d}", code="read_timeout"
    ),
    "lost": lambda d: AmbiguousError(f"connection lost after sending: {d}", code="connection_lost"),
}
FAILURE_KINDS = frozenset(_BY_KIND)


def parse_error_body(content: bytes) -> ErrorBody:
    """Read an OpenAI envelope, a gateway variant, or fall back to a plain-text excerpt."""
    stripped = content.strip()
    if stripped[:1] == b"{":
        try:
            payload = json.loads(stripped)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            return _from_object(payload)
    text = content[:4096].decode("utf-8", "replace").strip()
    return ErrorBody(message=text or None)


def _from_object(payload: Mapping[str, Any]) -> ErrorBody:
    error = payload.get("error", payload)
    if isinstance(error, str):
        return ErrorBody(message=error, code=_label(payload.get("code")))
    if not isinstance(error, Mapping):
        return ErrorBody(message=json.dumps(payload)[:1000])
    message = error.get("message", error.get("detail"))
    retryable = error.get("retryable")
    return ErrorBody(
        message=message if isinstance(message, str) else None,
        code=_label(error.get("code")),
        type=_label(error.get("type")),
        retryable=retryable if isinstance(retryable, bool) else None,
        retry_after=cap_retry_after(error.get("retry_after")),
    )


def _label(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _choose(
    status: int, body: ErrorBody, hint: bool | None, endpoint: Endpoint
) -> type[ProviderError]:
    if status in (401, 402, 403):
        return FatalError
    by_code = _choose_by_code(body, status, endpoint)
    if by_code is not None:
        return by_code
    if status == 429:
        return RateLimitedError
    if hint is not None:
        return RetryableError if hint else InvalidRequestError
    if status in (408, 409) or status >= 500:
        return RetryableError
    return InvalidRequestError


def _choose_by_code(body: ErrorBody, status: int, endpoint: Endpoint) -> type[ProviderError] | None:
    labels = body.labels
    if labels & FATAL_CODES:
        return FatalError
    if labels & TASK_NOT_FOUND_CODES or (endpoint is Endpoint.POLL and status == 404):
        return TaskNotFoundError
    if labels & INVALID_CODES:
        return InvalidRequestError
    return None


def _should_retry(body: ErrorBody, headers: Mapping[str, str]) -> bool | None:
    if body.retryable is not None:
        return body.retryable
    header = headers.get("x-should-retry", "").strip().lower()
    return {"true": True, "false": False}.get(header)


def _message(body: ErrorBody, reply: Reply, secret: str | None) -> str:
    text = body.message or reply.reason or f"HTTP {reply.status}"
    location = reply.headers.get("location")
    if reply.is_redirect and location:
        text = f"{text} (unexpected redirect to {location})"
    return sanitize_message(text, secret)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _deciding(chain: list[BaseException]) -> list[BaseException]:
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return chain
    aiohttp_errors: list[BaseException] = [e for e in chain if isinstance(e, aiohttp.ClientError)]
    return aiohttp_errors or chain
