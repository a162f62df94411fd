"""The default :class:`~runner.client.transport.Transport`: one pooled aiohttp session.

Kept apart from :mod:`runner.client.transport` so that importing the client does not import
aiohttp: a run's own process sends through :mod:`runner.client.remote`, and this module runs in
its worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Self

import aiohttp
from yarl import URL

from runner.client.transport import (
    ERROR_BODY_BYTES,
    KEEPALIVE_S,
    MAX_HEADER_BYTES,
    USER_AGENT,
    BodyTooLargeError,
    Reply,
)


class AiohttpTransport:
    """The default transport: one pooled ``aiohttp.ClientSession``, opened by ``async with``.

    ``timeout_s`` bounds every socket read (and waiting for a pool slot plus connecting);
    ``connect_timeout_s`` bounds one connection attempt. There is no total deadline: image
    generation can legitimately take minutes while the socket stays quiet.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 180.0,
        connect_timeout_s: float = 10.0,
        max_connections: int = 100,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout_s, sock_connect=connect_timeout_s, sock_read=timeout_s
        )
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self.open()
        return self

    def open(self) -> None:
        """Opens the session (needs a running loop); ``async with`` calls this."""
        if self._session is None:
            self._session = self._open_session()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def send(
        self, method: str, url: URL, headers: Mapping[str, str], body: bytes | None, max_body: int
    ) -> Reply:
        session = self._session
        if session is None:
            raise RuntimeError("AiohttpTransport used outside `async with`")
        async with session.request(
            method, url, headers=headers, data=body, allow_redirects=False
        ) as response:
            status = response.status
            if 200 <= status < 300:
                content = await _read_capped(response, max_body)
            else:
                content = await _read_excerpt(response, min(max_body, ERROR_BODY_BYTES))
            return Reply(status, response.reason or "", response.headers, content)

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=KEEPALIVE_S)
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            headers={"User-Agent": USER_AGENT},
            # Deterministic routing and no state carried between requests: no proxy or netrc
            # from the environment, no cookies (which also saves a jar lookup per request).
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > cap:
        raise BodyTooLargeError(response.status, cap)
    # The parser stops at Content-Length, so a declared, uncompressed body cannot exceed it.
    if declared is not None and "Content-Encoding" not in response.headers:
        return await response.read()
    parts: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_any():
        total += len(chunk)
        if total > cap:
            raise BodyTooLargeError(response.status, cap)
        parts.append(chunk)
    return b"".join(parts)


async def _read_excerpt(response: aiohttp.ClientResponse, limit: int) -> bytes:
    # Stopping early leaves the body unread; aiohttp then closes the connection, not reuses it.
    parts: list[bytes] = []
    total = 0
    while total < limit:
        chunk = await response.content.read(limit - total)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)
