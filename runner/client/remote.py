"""HTTP in a helper process, so the event loop that schedules and records never runs aiohttp.

Why: the runner's rate is bound by one event loop, and aiohttp's request path (request and
response objects, header parsing, timers; TLS too against a real provider) was the largest part
of its work in B1's profile. A :class:`ProcessTransport` hands each exchange to a child process
(``python -m runner.client.worker``, running the aiohttp transport) over a socket pair and gets
the whole reply back, so that work runs on another core. What is left on the loop is one frame
out and one frame in, batched per loop turn. This process never imports aiohttp (~0.2 s).

Wire format: a 4-byte big-endian length, then a :mod:`marshal`-ed tuple. Both ends are the same
interpreter, so marshal's format is shared; it is several times faster than pickle and builds only
plain values. The messages::

    parent -> child   ("config", timeout_s, connect_timeout_s, max_connections)   once, first
                      (rid, method, url, headers, body, max_body)                  an exchange
                      (rid,)                                                        cancel it
    child -> parent   (rid, status, reason, headers, body)                          its reply
                      (rid, -1, kind, message, status, limit)                       no reply

A failure travels as a kind (:func:`runner.client.classify.failure_kind`, decided in the child
where the aiohttp exception is) and is raised here as a :class:`TransportFailure`, so
never-sent stays never-sent. If the child dies, the exchanges in flight fail as ``lost`` (they
may have been sent) and the next exchange starts a new child. The child ignores SIGINT and
SIGTERM: on a graceful stop the requests in flight finish; it exits when its socket closes, as
when the parent is killed.
"""

from __future__ import annotations

import asyncio
import itertools
import marshal
import subprocess
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import anyio.to_thread
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from runner.client.spawn import reap, spawn_worker, take_spare
from runner.client.transport import BodyTooLargeError, Reply, TransportFailure

_LENGTH = 4


def frame(message: tuple[Any, ...]) -> bytes:
    payload = marshal.dumps(message)
    return len(payload).to_bytes(_LENGTH, "big") + payload


def take_frames(buffer: bytearray) -> list[Any]:
    """The whole messages at the start of ``buffer``, removed from it; a partial one stays."""
    messages, pos, end = [], 0, len(buffer)
    view = memoryview(buffer)
    try:
        while end - pos >= _LENGTH:
            size = int.from_bytes(view[pos : pos + _LENGTH], "big")
            if end - pos - _LENGTH < size:
                break
            messages.append(marshal.loads(view[pos + _LENGTH : pos + _LENGTH + size]))
            pos += _LENGTH + size
    finally:
        view.release()
    del buffer[:pos]
    return messages


class FrameChannel(asyncio.Protocol):
    """Frames over a stream socket; writes made in one loop turn leave in one ``send``."""

    def __init__(
        self, on_message: Callable[[Any], None], on_lost: Callable[[], None] = lambda: None
    ) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        self._buffer = bytearray()
        self._out: list[bytes] = []
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        for message in take_frames(self._buffer):
            self._on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._on_lost()

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def send(self, message: tuple[Any, ...]) -> None:
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(frame(message))

    def _flush(self) -> None:
        data, self._out = b"".join(self._out), []
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        if self._transport is not None:
            self._transport.close()


class ProcessTransport:
    """A :class:`~runner.client.transport.Transport` whose aiohttp session lives in a child.

    Takes the aiohttp transport's settings and behaves the same to its caller: a reply for
    any status, :class:`BodyTooLargeError` past the cap, and failures without an answer as
    :class:`TransportFailure` (a ``ConnectionError``).
    """

    def __init__(
        self,
        *,
        timeout_s: float = 180.0,
        connect_timeout_s: float = 10.0,
        max_connections: int = 100,
    ) -> None:
        self._config = ("config", timeout_s, connect_timeout_s, max_connections)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._channel: FrameChannel | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        await self._stop()

    async def send(
        self, method: str, url: URL, headers: Mapping[str, str], body: bytes | None, max_body: int
    ) -> Reply:
        if self._closed:
            raise RuntimeError("ProcessTransport used after it was closed")
        if self._channel is None or not self._channel.open:
            await self._start()
        assert self._channel is not None
        rid = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        self._channel.send((rid, method, str(url), tuple(headers.items()), body, max_body))
        try:
            message = await future
        except asyncio.CancelledError:
            if self._pending.pop(rid, None) is not None and self._channel.open:
                self._channel.send((rid,))
            raise
        return _reply(message)

    async def _start(self) -> None:
        """A new child, and a channel to it; what is sent before it is up waits in the socket."""
        await self._stop()
        spare = take_spare()
        if spare is None:
            spare = await anyio.to_thread.run_sync(spawn_worker)
        self._process, ours = spare
        loop = asyncio.get_running_loop()
        _, channel = await loop.connect_accepted_socket(
            lambda: FrameChannel(self._answered, self._lost), sock=ours
        )
        self._channel = channel
        channel.send(self._config)

    async def _stop(self) -> None:
        channel, self._channel = self._channel, None
        process, self._process = self._process, None
        if channel is not None:
            channel.close()
        if process is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(reap, process)

    def _answered(self, message: tuple[Any, ...]) -> None:
        future = self._pending.pop(message[0], None)
        if future is not None and not future.done():
            future.set_result(message)

    def _lost(self) -> None:
        """The child is gone: whatever it was sending may have reached the provider."""
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(TransportFailure("lost", "the HTTP worker process exited"))


def _reply(message: tuple[Any, ...]) -> Reply:
    if message[1] >= 0:
        _, status, reason, headers, body = message
        return Reply(status, reason, CIMultiDictProxy(CIMultiDict(headers)), body)
    _, _, kind, text, status, limit = message
    if kind == "too_large":
        raise BodyTooLargeError(status, limit)
    raise TransportFailure(kind, text)
