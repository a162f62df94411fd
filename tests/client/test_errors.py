"""The taxonomy's shape, Retry-After parsing, and message sanitising."""

from __future__ import annotations

import email.utils
import subprocess
import sys
import time

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from runner.client.errors import (
    AmbiguousError,
    DownloadError,
    FatalError,
    InvalidRequestError,
    ProviderError,
    RateLimitedError,
    RetryableError,
    TaskFailedError,
    TaskNotFoundError,
    parse_retry_after,
    sanitize_message,
)
from runner.types import ErrorInfo, ErrorKind

from .kit import API_KEY


@pytest.mark.parametrize(
    ("cls", "kind", "parent"),
    [
        (RetryableError, ErrorKind.RETRYABLE, ProviderError),
        (RateLimitedError, ErrorKind.RATE_LIMITED, RetryableError),
        (AmbiguousError, ErrorKind.AMBIGUOUS, ProviderError),
        (InvalidRequestError, ErrorKind.INVALID, ProviderError),
        (TaskFailedError, ErrorKind.TASK_FAILED, ProviderError),
        (TaskNotFoundError, ErrorKind.TASK_NOT_FOUND, ProviderError),
        (DownloadError, ErrorKind.DOWNLOAD, ProviderError),
        (FatalError, ErrorKind.FATAL, ProviderError),
    ],
)
def test_each_class_has_its_kind_and_parent(
    cls: type[ProviderError], kind: ErrorKind, parent: type[ProviderError]
) -> None:
    """Each class records its own ErrorKind and sits directly under the documented parent."""
    exc = cls("boom", http_status=418, code="teapot", retry_after=2.0)
    assert exc.info == ErrorInfo(kind, "boom", 418, "teapot")
    assert exc.retry_after == 2.0
    assert cls.__mro__[1] is parent


def test_task_failed_is_not_final_like_invalid_request() -> None:
    """A failed task is resubmitted, so `except InvalidRequestError` must not swallow it."""
    assert not issubclass(TaskFailedError, InvalidRequestError)
    assert not issubclass(TaskNotFoundError, InvalidRequestError)


def test_str_shows_status_message_and_code() -> None:
    """The rendered error is one line with what an operator needs."""
    assert str(FatalError("bad key", http_status=401, code="invalid_api_key")) == (
        "HTTP 401: bad key [invalid_api_key]"
    )
    assert str(RetryableError("could not connect", sent=False)) == "could not connect"


def _http_date(offset_s: float) -> str:
    return email.utils.formatdate(time.time() + offset_s, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "5"}, 5.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "2500", "Retry-After": "9"}, 2.5),
        ({"retry-after-ms": "soon", "Retry-After": "9"}, 9.0),
        ({"Retry-After": "600"}, 120.0),
        ({"retry-after-ms": "500000"}, 120.0),
        ({"Retry-After": "-3"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "tomorrow-ish"}, None),
        ({"RETRY-AFTER": "3"}, 3.0),
        (CIMultiDictProxy(CIMultiDict({"Retry-After": "4"})), 4.0),
        ({"Retry-After": _http_date(-3600)}, 0.0),
        ({"Retry-After": _http_date(86400)}, 120.0),
    ],
)
def test_parse_retry_after_forms_and_cap(headers: dict[str, str], expected: float | None) -> None:
    """ms first, then seconds, then HTTP-date; capped at 120 s; junk and negatives ignored."""
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date_in_the_near_future() -> None:
    """An HTTP-date 30 s ahead is about 30 s (whole-second resolution)."""
    delay = parse_retry_after({"Retry-After": _http_date(30)})
    assert delay is not None
    assert 28.0 <= delay <= 30.0


def test_sanitize_redacts_key_bearer_sk_tokens_and_url_queries() -> None:
    """No key-shaped text and no signed-URL query survives into a message."""
    text = (
        f"key {API_KEY}; header Authorization: Bearer abc.def-123; other sk-proj-AAAABBBBCCCC; "
        "url https://blob.test/img.png?se=2026&sig=s3cr3t done"
    )
    clean = sanitize_message(text, API_KEY)
    for secret in (API_KEY, "abc.def-123", "sk-proj-AAAABBBBCCCC", "s3cr3t"):
        assert secret not in clean
    assert "https://blob.test/img.png?[REDACTED]" in clean
    assert clean.endswith("done")


def test_sanitize_makes_one_short_line() -> None:
    """Control characters and newlines collapse; long text is cut with an ellipsis."""
    clean = sanitize_message("a\n\tb\x00c " + "z" * 1000)
    assert clean.startswith("a b c zzz")
    assert len(clean) == 300
    assert clean.endswith("…")
    assert sanitize_message("  \n ") == "(empty body)"


def test_client_package_stays_a_leaf_boundary() -> None:
    """Importing runner.client's modules pulls in no store, scheduler or manifest module."""
    code = (
        "import sys, runner.client.client, runner.client.remote, runner.client.errors; "
        "print(sorted(m for m in sys.modules if m.startswith('runner.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout.strip()
    assert "runner.client.client" in loaded
    for forbidden in ("runner.store", "runner.scheduler", "runner.manifest"):
        assert forbidden not in loaded
