"""The HTTP boundary: one method that sends a request and returns a fully read reply, or raises.

Why our own boundary rather than httpx: on the benchmark's hot path (thousands of tiny POSTs a
second) httpx's layers (request building, URL merging, header objects, streaming reads) cost
about twice what aiohttp itself does, and the client is the event loop's largest single cost. So
:class:`ProviderClient` talks to a :class:`Transport` directly, and the default one is a thin
wrapper over one :class:`aiohttp.ClientSession`.

The default transport is in :mod:`runner.client.aiohttp_transport`, imported only where it runs:
a run's own process sends through :mod:`runner.client.remote` and never loads aiohttp (~0.2 s).

A transport speaks aiohttp's exception vocabulary (``aiohttp.ClientError`` and its subclasses,
whose tree and meaning are drawn in :mod:`runner.client.errors`) plus :class:`BodyTooLargeError`;
:mod:`runner.client.classify` turns those into the client's typed errors. It never follows
redirects: credentials are decided per hop by the client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from yarl import URL

USER_AGENT = "runner/0.1"
# b64 answers with n=10 large images run to tens of MiB; the cap only stops a runaway body.
API_BODY_BYTES = 256 * 2**20
# Error answers are read for their envelope and an excerpt; 64 KiB still holds an error that
# echoes a maximal prompt, so its code is not lost to truncation.
ERROR_BODY_BYTES = 64 * 2**10
# httpx's default, kept: a pooled connection idle longer may already be closed by a server with a
# short keep-alive, and a POST written into one is ambiguous.
KEEPALIVE_S = 5.0
# aiohttp's 8 KiB default refuses some CDNs' long signed Location or policy headers.
MAX_HEADER_BYTES = 64 * 2**10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# A URL made only of RFC 3986 characters with well-formed %XX escapes: sent byte for byte.
_ENCODED_URL = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer, its body already read (whole for 2xx, an excerpt otherwise)."""

    status: int
    reason: str
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECT_STATUSES and "location" in self.headers


class BodyTooLargeError(Exception):
    """A 2xx body (declared or streamed) is larger than the caller's cap; the rest is unread."""

    def __init__(self, status: int, limit: int) -> None:
        super().__init__(f"HTTP {status} body larger than {limit} bytes")
        self.status = status
        self.limit = limit


class TransportFailure(ConnectionError):
    """An exchange that failed without an answer, already classified into a ``kind``.

    ``kind`` is one of :data:`runner.client.classify.FAILURE_KINDS`: decided by the HTTP worker
    where the aiohttp exception was raised (see :mod:`runner.client.remote`), or ``bad_url`` from
    :func:`wire_url`. The message is the original exception's.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Transport(Protocol):
    """What :class:`ProviderClient` needs from HTTP: open, one exchange at a time, close.

    ``send`` returns a :class:`Reply` for any status (it never raises for one and never follows
    a redirect). A 2xx body is read whole, raising :class:`BodyTooLargeError` past ``max_body``
    bytes; any other status's body is cut at ``min(max_body, ERROR_BODY_BYTES)``. Failures
    without an answer raise ``aiohttp.ClientError`` subclasses (or ``TimeoutError`` /
    ``ConnectionError``) so that classification can tell never-sent from ambiguous.
    """

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes | None,
        max_body: int,
    ) -> Reply: ...

    async def aclose(self) -> None: ...


def wire_url(text: str) -> URL:
    """``text`` as a URL to send: already-encoded URLs go byte for byte, others are quoted.

    Signed image URLs must reach the server exactly as issued, and re-normalising an encoded
    URL (yarl decodes ``%3A`` in a query, say) could break a signature.
    """
    try:
        if _ENCODED_URL.fullmatch(text):
            return URL(text, encoded=True)
        return URL(text)
    except ValueError as exc:  # raised as the transport would, so it classifies as bad_url
        raise TransportFailure("bad_url", text) from exc


def __getattr__(name: str) -> Any:
    # Where AiohttpTransport used to live; importing it here would load aiohttp for everyone.
    if name == "AiohttpTransport":
        from runner.client.aiohttp_transport import AiohttpTransport

        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
