"""ProviderClient: one request in, a typed answer or a typed :mod:`runner.client.errors` out.

It knows nothing of the state DB or scheduling; the scheduler decides what an exception means for
an item. The hot path (submit/poll) is one :meth:`Transport.send`, one ``json.loads`` and no
logging, with the body encoded once and the URLs and headers built once per client: at a few
thousand answers a second the client is the event loop's largest cost (httpx over httpx-aiohttp
managed ~3,000 req/s here where aiohttp alone manages ~8,000, hence :mod:`.transport`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin

import anyio.to_thread
from yarl import URL

from runner.client.answers import load_json, parse_models, parse_submission, parse_task_status
from runner.client.classify import (
    Endpoint,
    classify_response,
    classify_transport_error,
    transport_errors,
)
from runner.client.errors import AmbiguousError, DownloadError, sanitize_message
from runner.client.images import decode_image
from runner.client.transport import (
    API_BODY_BYTES,
    BodyTooLargeError,
    Reply,
    Transport,
    wire_url,
)
from runner.client.urls import BaseUrl, origin_of
from runner.types import DecodedImage, Submission, TaskStatus

MAX_REDIRECTS = 5
# Decoding and hashing a large image takes milliseconds of CPU; off the event loop above this.
THREAD_DECODE_BYTES = 1 << 20
# A failed image fetch's message needs only the gist of its body (sanitising cuts to 300 chars).
_EXCERPT_BYTES = 1024
# What httpx's json= sent: compact, UTF-8, and NaN/inf refused rather than sent as invalid JSON.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class ProviderClient:
    """An OpenAI-compatible image API client that owns its HTTP transport.

    Use as ``async with ProviderClient(...) as client``. The bearer token and the extra
    ``headers`` are sent only to the base URL's origin (scheme, host, port); image downloads
    from any other origin carry neither. ``transport``, when given, is owned (entered and closed)
    too; by default an :class:`AiohttpTransport` with these timeouts and this pool size.
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
        transport: Transport | None = None,
    ) -> None:
        if max_connections < 1 or max_download_bytes < 1:
            raise ValueError("max_connections and max_download_bytes must be positive")
        self._base = BaseUrl.parse(base_url)
        self._secret = api_key or None
        self._api_headers = _api_headers(headers or {}, self._secret)
        self._post_headers = {**self._api_headers, "Content-Type": "application/json"}
        self._max_download_bytes = max_download_bytes
        self._generations_url = wire_url(self._base.endpoint("images/generations"))
        self._models_url = wire_url(self._base.endpoint("models"))
        self._transport: Transport = transport or _default_transport(
            timeout_s, connect_timeout_s, max_connections
        )

    @property
    def base_url(self) -> str:
        return self._base.url

    async def __aenter__(self) -> Self:
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._transport.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def submit(self, body: Mapping[str, Any]) -> Submission:
        """POST a generation request; images now, or an async task with an absolute poll URL."""
        payload = _JSON.encode(body if isinstance(body, dict) else dict(body)).encode()
        reply = await self._call(
            "POST", self._generations_url, self._post_headers, payload, Endpoint.GENERATE
        )
        answer = load_json(reply.body, reply.status)
        return parse_submission(answer, reply.status, self._base, self._secret)

    async def poll(self, task_id: str, poll_url: str | None) -> TaskStatus:
        """GET one task's status; a failed or cancelled task is a FAILED status, not an error."""
        url = self._base.poll_url(task_id, poll_url)
        reply = await self._call("GET", url, self._api_headers, None, Endpoint.POLL)
        return parse_task_status(load_json(reply.body, reply.status), reply.status, self._secret)

    async def list_models(self, recommended_for: str | None = "image") -> list[dict[str, Any]]:
        """GET ``{base_url}/models`` (filtered by ``recommended_for`` when given)."""
        url = self._models_url
        if recommended_for:
            url = url.update_query(recommended_for=recommended_for)
        reply = await self._call("GET", url, self._api_headers, None, Endpoint.MODELS)
        return parse_models(load_json(reply.body, reply.status), reply.status)

    async def download(self, url: str) -> DecodedImage:
        """Fetch an image URL (size-capped) and check it decodes; every failure is DownloadError."""
        data = await self._fetch(url)
        if len(data) >= THREAD_DECODE_BYTES:
            return await anyio.to_thread.run_sync(decode_image, data)
        return decode_image(data)

    async def _call(
        self,
        method: str,
        url: URL | str,
        headers: Mapping[str, str],
        payload: bytes | None,
        endpoint: Endpoint,
    ) -> Reply:
        try:
            target = url if isinstance(url, URL) else wire_url(url)
            reply = await self._transport.send(method, target, headers, payload, API_BODY_BYTES)
        except BodyTooLargeError as exc:
            # Answered 2xx, so possibly charged, but too large to be a real answer.
            message = f"answer larger than {exc.limit} bytes"
            raise AmbiguousError(message, http_status=exc.status, code="too_large") from exc
        except transport_errors() as exc:
            raise classify_transport_error(exc, self._secret) from exc
        if not reply.ok:
            raise classify_response(reply, endpoint, self._secret)
        return reply

    async def _fetch(self, url: str) -> bytes:
        # Redirects are followed here, not by the transport, so that credentials are decided per
        # hop: an API-origin URL redirecting to a CDN must not carry the key there.
        for _ in range(MAX_REDIRECTS + 1):
            if origin_of(url) is None:
                shown = sanitize_message(url[:80], self._secret)
                raise DownloadError(f"not an http(s) URL: {shown}", code="unsupported_url")
            reply = await self._get_image(url)
            if not reply.is_redirect:
                return self._image_bytes(reply)
            url = urljoin(url, reply.headers["location"])
        raise DownloadError("image fetch failed: too many redirects", code="too_many_redirects")

    async def _get_image(self, url: str) -> Reply:
        headers = self._api_headers if self._base.is_same_origin(url) else {}
        try:
            return await self._transport.send(
                "GET", wire_url(url), headers, None, self._max_download_bytes
            )
        except BodyTooLargeError as exc:
            limit = self._max_download_bytes
            raise DownloadError(
                f"image larger than max_download_bytes ({limit})",
                http_status=exc.status,
                code="too_large",
            ) from exc
        except transport_errors() as exc:
            detail = sanitize_message(str(exc) or type(exc).__name__, self._secret)
            raise DownloadError(f"image fetch failed: {detail}", code="fetch_failed") from exc

    def _image_bytes(self, reply: Reply) -> bytes:
        if reply.ok:
            return reply.body
        text = reply.body[:_EXCERPT_BYTES].decode("utf-8", "replace").strip()
        excerpt = sanitize_message(
            text or f"HTTP {reply.status} {reply.reason}".strip(), self._secret
        )
        raise DownloadError(f"image fetch failed: {excerpt}", http_status=reply.status)


def _default_transport(
    timeout_s: float, connect_timeout_s: float, max_connections: int
) -> Transport:
    from runner.client.aiohttp_transport import AiohttpTransport  # loads aiohttp: only if used

    return AiohttpTransport(
        timeout_s=timeout_s, connect_timeout_s=connect_timeout_s, max_connections=max_connections
    )


def _api_headers(extra: Mapping[str, str], secret: str | None) -> dict[str, str]:
    headers = {str(name): str(value) for name, value in extra.items()}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    return headers
