"""The provider client's typed failures, and the Retry-After rules they carry.

Every failure the client raises is a :class:`ProviderError`; its subclass tells the scheduler what
to do next, so the scheduler never looks at status codes or bodies itself::

    ProviderError                  .info: ErrorInfo   .retry_after: float | None   .sent: bool
    ├── RetryableError             408, 409, 5xx, connection refused/DNS/connect timeout: send again
    │   └── RateLimitedError       429 (not insufficient_quota): send again, and slow down
    ├── AmbiguousError             sent, no usable answer: may have been charged
    ├── InvalidRequestError        the provider refused this item; retrying cannot fix it
    ├── TaskFailedError            an async task ended failed or cancelled: resubmit while attempts
    │                              remain (not an InvalidRequestError, which is final for the item)
    ├── TaskNotFoundError          the provider no longer knows the task (404, async_task_not_found)
    ├── DownloadError              an image URL could not be fetched or decoded: fetch again
    └── FatalError                 401/402/403, billing or quota, bad key: stop the whole run

``sent`` is False only when the request provably never reached the provider (connection refused,
DNS failure, connect or pool timeout), so retrying it cannot double-charge.

A failure with no HTTP answer arrives from the transport as one of aiohttp's exceptions; this is
their tree and what each becomes (first match wins, in the order of
:func:`runner.client.classify.classify_transport_error`; a download's are all DownloadError)::

    aiohttp.ClientError
    ├── ClientConnectionError
    │   ├── ClientOSError                  connection_lost  Ambiguous   (reset/broken pipe, sent)
    │   │   └── ClientConnectorError       connect_error    Retryable   not sent (refused, DNS)
    │   │       └── ClientSSLError         connect_error    Retryable   not sent (handshake)
    │   │           └── ClientConnectorCertificateError
    │   │                                  tls_certificate  Fatal       not sent
    │   ├── ClientConnectionResetError     connection_lost  Ambiguous   (write to a closed socket)
    │   └── ServerConnectionError
    │       ├── ServerDisconnectedError    connection_lost  Ambiguous   (closed before answering)
    │       └── ServerTimeoutError (also TimeoutError)
    │           ├── ConnectionTimeoutError connect_error    Retryable   not sent (connect or
    │           │                                                       waiting for a pool slot)
    │           └── SocketTimeoutError     read_timeout     Ambiguous   (no byte within timeout_s)
    ├── ClientPayloadError                 connection_lost  Ambiguous   (body cut short)
    ├── ClientResponseError                connection_lost  Ambiguous   (malformed answer)
    ├── InvalidURL                         bad_url          Fatal       not sent
    └── NonHttpUrlClientError              bad_url          Fatal       not sent

A 2xx body over the transport's cap is Ambiguous ``too_large`` (answered); on a download,
DownloadError ``too_large``.

``AmbiguousError.answered`` separates the two ambiguous cases: False when no answer came (read
timeout, connection dropped), True when the provider answered 2xx with a body that cannot be used.
Both may have been charged and are counted in ``possible_duplicate_charges``; only the first is
"ambiguous" in the contract's sense, so only it is parked by ``--on-ambiguous hold``.

Messages are short, single-line, sanitised excerpts: :func:`sanitize_message` strips HTML and
control characters, truncates, and redacts the API key and anything shaped like a bearer token.
"""

from __future__ import annotations

import email.utils
import html
import math
import re
import time
from collections.abc import Mapping
from typing import ClassVar

from runner.types import ErrorInfo, ErrorKind

# The OpenAI SDK refuses to honour a server delay above 120 s; we cap instead of refusing, so a
# long Retry-After still slows the run down without parking a request for an hour.
MAX_RETRY_AFTER_S = 120.0
MAX_MESSAGE_CHARS = 300

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
# Key-shaped strings a server may echo back even when the key is not the one we hold.
_TOKENISH = re.compile(r"(?i)\b(bearer\s+)\S+|\bsk-[A-Za-z0-9_\-]{6,}")
# Signed image URLs (and some APIs' ?key=) carry credentials in the query string.
_URL_QUERY = re.compile(r"(https?://[^\s?#\"'<>]+)\?[^\s#\"'<>]*", re.IGNORECASE)


class ProviderError(Exception):
    """Base of every failure the client raises; ``info`` is what gets recorded."""

    kind: ClassVar[ErrorKind] = ErrorKind.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(message)
        self.info = ErrorInfo(self.kind, message, http_status, code)
        self.retry_after = retry_after
        self.sent = sent

    def __str__(self) -> str:
        status = f"HTTP {self.info.http_status}: " if self.info.http_status is not None else ""
        code = f" [{self.info.code}]" if self.info.code else ""
        return f"{status}{self.info.message}{code}"


class RetryableError(ProviderError):
    """A transient failure: sending again later can succeed."""

    kind = ErrorKind.RETRYABLE


class RateLimitedError(RetryableError):
    """A 429 rate limit: retry after ``retry_after`` and lower the sending rate."""

    kind = ErrorKind.RATE_LIMITED


class AmbiguousError(ProviderError):
    """The request was sent but no usable answer was recorded; it may have been charged."""

    kind = ErrorKind.AMBIGUOUS

    @property
    def answered(self) -> bool:
        """True when the provider did answer (2xx), but with a body that cannot be used."""
        return self.info.http_status is not None


class InvalidRequestError(ProviderError):
    """The provider refused the request itself; sending it again cannot help."""

    kind = ErrorKind.INVALID


class TaskFailedError(ProviderError):
    """An async task ended failed or cancelled; it spends one attempt, then resubmission."""

    kind = ErrorKind.TASK_FAILED


class TaskNotFoundError(ProviderError):
    """The provider does not know (or no longer keeps) the polled task."""

    kind = ErrorKind.TASK_NOT_FOUND


class DownloadError(ProviderError):
    """An image URL could not be fetched or its bytes are not an image; fetch again."""

    kind = ErrorKind.DOWNLOAD


class FatalError(ProviderError):
    """The provider refused the account (auth, billing, quota): the whole run must stop."""

    kind = ErrorKind.FATAL


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait, capped at 120 s; None when it did not say.

    Order follows the OpenAI SDK: ``retry-after-ms`` (float milliseconds), then ``Retry-After``
    as seconds, then as an HTTP-date (a date in the past means "now": 0.0).
    """
    ms = _header(headers, "retry-after-ms")
    if ms is not None and (value := _finite(ms)) is not None:
        return _cap(value / 1000.0)
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    if (value := _finite(raw)) is not None:
        return _cap(value)
    return _from_http_date(raw)


def cap_retry_after(value: object) -> float | None:
    """A body-supplied delay (gateway ``retry_after``) as capped seconds, or None if unusable."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    seconds = _finite(str(value))
    return None if seconds is None else _cap(seconds)


def sanitize_message(text: str, secret: str | None = None) -> str:
    """A short single-line excerpt of ``text`` safe to log and store: no HTML, no key."""
    if "<" in text:
        text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _SPACE.sub(" ", "".join(ch if ch.isprintable() else " " for ch in text)).strip()
    text = redact(text, secret)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
    return text or "(empty body)"


def redact(text: str, secret: str | None) -> str:
    """``text`` with the API key, bearer-token-shaped strings and URL queries replaced."""
    if secret:
        text = text.replace(secret, "[REDACTED]")
    text = _URL_QUERY.sub(r"\1?[REDACTED]", text)
    return _TOKENISH.sub(_redact_token, text)


def _redact_token(match: re.Match[str]) -> str:
    return f"{match.group(1)}[REDACTED]" if match.group(1) else "[REDACTED]"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp's CIMultiDictProxy is case-insensitive; a plain dict from a test or caller is not.
    value = headers.get(name)
    if value is not None:
        return value
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _finite(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _cap(seconds: float) -> float:
    return min(seconds, MAX_RETRY_AFTER_S)


def _from_http_date(raw: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return _cap(max(0.0, when.timestamp() - time.time()))
