"""ProviderClient: one request in, a typed answer or a typed :mod:`runner.client.errors` out.

It knows nothing of the state DB or scheduling; the scheduler decides what an exception means for
an item. The hot path (submit/poll) does one request, one ``json.loads`` and no logging: the lead
measured the transport as the throughput limit (plain httpx 418 req/s, httpx over httpx-aiohttp
3,114 req/s on this machine), so the aiohttp-backed transport is the default and the ``transport``
argument lets tests or a raw-aiohttp transport plug in.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Mapping
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import urljoin

import anyio.to_thread
import httpx
import httpx_aiohttp

from runner.client.answers import load_json, parse_models, parse_submission, parse_task_status
from runner.client.classify import (
    TRANSPORT_ERRORS,
    Endpoint,
    classify_response,
    classify_transport_error,
)
from runner.client.errors import DownloadError, sanitize_message
from runner.client.images import decode_image
from runner.client.urls import BaseUrl, origin_of
from runner.types import DecodedImage, Submission, TaskStatus

USER_AGENT = "runner/0.1 (+httpx)"
MAX_REDIRECTS = 5
# Decoding and hashing a large image takes milliseconds of CPU; off the event loop above this.
THREAD_DECODE_BYTES = 1 << 20
_ERROR_EXCERPT_BYTES = 1024


class ProviderClient:
    """An OpenAI-compatible image API client that owns its HTTP connection pool.

    Use as ``async with ProviderClient(...) as client``. The bearer token and the extra
    ``headers`` are sent only to the base URL's origin (scheme, host, port); image downloads
    from any other origin carry neither. ``transport``, when given, is owned (closed) too.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout_s: float = 180.0,
        connect_timeout_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
        max_download_bytes: int = 50 * 2**20,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_connections < 1 or max_download_bytes < 1:
            raise ValueError("max_connections and max_download_bytes must be positive")
        self._base = BaseUrl.parse(base_url)
        self._secret = api_key or None
        self._api_headers = _api_headers(headers or {}, self._secret)
        self._max_download_bytes = max_download_bytes
        self._generations_url = self._base.endpoint("images/generations")
        self._models_url = self._base.endpoint("models")
        self._http = httpx.AsyncClient(
            transport=transport or _aiohttp_transport(max_connections),
            # httpx-aiohttp maps read -> sock_read, connect -> sock_connect, and pool -> aiohttp's
            # `connect` (waiting for a pool slot plus connecting), so pool keeps the long value.
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            # Deterministic routing: no proxy or netrc picked up from the environment.
            trust_env=False,
        )

    @property
    def base_url(self) -> str:
        return self._base.url

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def submit(self, body: Mapping[str, Any]) -> Submission:
        """POST a generation request; images now, or an async task with an absolute poll URL."""
        payload = body if isinstance(body, dict) else dict(body)
        response = await self._call("POST", self._generations_url, Endpoint.GENERATE, payload)
        answer = load_json(response.content, response.status_code)
        return parse_submission(answer, response.status_code, self._base, self._secret)

    async def poll(self, task_id: str, poll_url: str | None) -> TaskStatus:
        """GET one task's status; a failed or cancelled task is a FAILED status, not an error."""
        url = self._base.poll_url(task_id, poll_url)
        response = await self._call("GET", url, Endpoint.POLL)
        answer = load_json(response.content, response.status_code)
        return parse_task_status(answer, response.status_code, self._secret)

    async def list_models(self, recommended_for: str | None = "image") -> list[dict[str, Any]]:
        """GET ``{base_url}/models`` (filtered by ``recommended_for`` when given)."""
        url = self._models_url
        if recommended_for:
            url = str(httpx.URL(url, params={"recommended_for": recommended_for}))
        response = await self._call("GET", url, Endpoint.MODELS)
        return parse_models(load_json(response.content, response.status_code), response.status_code)

    async def download(self, url: str) -> DecodedImage:
        """Fetch an image URL (size-capped) and check it decodes; every failure is DownloadError."""
        data = await self._fetch(url)
        if len(data) >= THREAD_DECODE_BYTES:
            return await anyio.to_thread.run_sync(decode_image, data)
        return decode_image(data)

    async def _call(
        self, method: str, url: str, endpoint: Endpoint, body: Any = None
    ) -> httpx.Response:
        try:
            response = await self._http.request(method, url, json=body, headers=self._api_headers)
        except TRANSPORT_ERRORS as exc:
            raise classify_transport_error(exc, self._secret) from exc
        if not response.is_success:
            raise classify_response(response, endpoint, self._secret)
        return response

    async def _fetch(self, url: str) -> bytes:
        # Redirects are followed here, not by httpx, so that credentials are decided per hop:
        # an API-origin URL redirecting to a CDN must not carry the key there.
        for _ in range(MAX_REDIRECTS + 1):
            if origin_of(url) is None:
                shown = sanitize_message(url[:80], self._secret)
                raise DownloadError(f"not an http(s) URL: {shown}", code="unsupported_url")
            try:
                async with self._http.stream("GET", url, headers=self._headers_for(url)) as reply:
                    if not reply.is_redirect:
                        return await self._read_image(reply)
                    url = urljoin(url, reply.headers["location"])
            except TRANSPORT_ERRORS as exc:
                detail = sanitize_message(str(exc) or type(exc).__name__, self._secret)
                raise DownloadError(f"image fetch failed: {detail}", code="fetch_failed") from exc
        raise DownloadError("image fetch failed: too many redirects", code="too_many_redirects")

    def _headers_for(self, url: str) -> Mapping[str, str] | None:
        return self._api_headers if self._base.is_same_origin(url) else None

    async def _read_image(self, reply: httpx.Response) -> bytes:
        status = reply.status_code
        if not reply.is_success:
            excerpt = sanitize_message(await _excerpt(reply), self._secret)
            raise DownloadError(f"image fetch failed: {excerpt}", http_status=status)
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_download_bytes:
            raise self._too_large(status)
        chunks: list[bytes] = []
        total = 0
        async with _chunks(reply) as stream:
            async for chunk in stream:
                total += len(chunk)
                if total > self._max_download_bytes:
                    raise self._too_large(status)
                chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, status: int) -> DownloadError:
        limit = self._max_download_bytes
        return DownloadError(
            f"image larger than max_download_bytes ({limit})", http_status=status, code="too_large"
        )


def _aiohttp_transport(max_connections: int) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx_aiohttp.AiohttpTransport(limits=limits)


def _api_headers(extra: Mapping[str, str], secret: str | None) -> dict[str, str]:
    headers = {str(name): str(value) for name, value in extra.items()}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    return headers


def _chunks(reply: httpx.Response) -> contextlib.aclosing[AsyncGenerator[bytes, None]]:
    # httpx types aiter_bytes() as an AsyncIterator but returns an async generator; closing it
    # explicitly keeps an early exit (size cap, excerpt) from leaving it to the GC.
    return contextlib.aclosing(cast(AsyncGenerator[bytes, None], reply.aiter_bytes()))


async def _excerpt(reply: httpx.Response) -> str:
    """The start of an error body, for the message; the rest is not read."""
    parts: list[bytes] = []
    async with _chunks(reply) as stream:
        async for chunk in stream:
            parts.append(chunk)
            if sum(map(len, parts)) >= _ERROR_EXCERPT_BYTES:
                break
    text = b"".join(parts)[:_ERROR_EXCERPT_BYTES].decode("utf-8", "replace").strip()
    return text or f"HTTP {reply.status_code} {reply.reason_phrase}".strip()
