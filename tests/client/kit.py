"""Test kit: a scriptable aiohttp server on 127.0.0.1, tiny images, and a key-leak check.

Each test scripts the answers per (method, path): status, headers, body, a delay, dropping the
connection mid-body or before answering at all. Every request is recorded (headers included) so
tests can check what the client actually sent.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict
from PIL import Image

API_KEY = "sk-test-SECRET-0123456789abcdefXYZ"


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    json: Any = None
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop_after: int | None = None  # send this many body bytes of a longer promised body, then close
    close_without_answer: bool = False  # read the request, close the socket, send nothing

    def payload(self) -> bytes:
        if self.json is not None:
            return json.dumps(self.json).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    raw_path: str = ""  # path and query exactly as sent, percent-escapes included

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ScriptServer:
    """Serves scripted replies; the last reply queued for a route repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply | Handler]] = {}
        self.seen: list[Seen] = []
        self.origin = ""

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def on(self, method: str, path: str, *replies: Reply | Handler) -> None:
        self.routes[(method.upper(), path)] = list(replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = CIMultiDict(request.headers)
        query = dict(request.query)
        seen = Seen(request.method, request.path, query, headers, body, request.raw_path)
        self.seen.append(seen)
        queue = self.routes.get((request.method, request.path))
        if not queue:
            return web.json_response({"error": {"message": "no route", "code": None}}, status=404)
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Reply):
            return await _answer(request, reply)
        return await reply(request)


async def _answer(request: web.Request, reply: Reply) -> web.StreamResponse:
    if reply.delay:
        await asyncio.sleep(reply.delay)
    transport = request.transport
    assert transport is not None
    if reply.close_without_answer:
        transport.close()
        return web.Response()
    payload = reply.payload()
    content_type = "application/json" if reply.json is not None else "text/plain"
    headers = {"Content-Type": content_type, **reply.headers}
    if reply.drop_after is None:
        return web.Response(status=reply.status, body=payload, headers=headers)
    headers["Content-Length"] = str(len(payload) + 1000)
    response = web.StreamResponse(status=reply.status, headers=headers)
    await response.prepare(request)
    await response.write(payload[: reply.drop_after])
    transport.close()
    return response


async def start_server(server: ScriptServer) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.dispatch)
    # handler_cancellation: a handler still sleeping when the client gives up is cancelled.
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.origin = f"http://{host}:{port}"
    return runner


def tiny_image(fmt: str = "PNG", size: tuple[int, int] = (3, 2)) -> bytes:
    """A small real image in ``fmt`` (PNG, JPEG, WEBP, GIF)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


def assert_no_key(exc: BaseException) -> None:
    """The API key appears in no rendering of the exception."""
    texts = [str(exc), repr(exc), *(str(arg) for arg in exc.args)]
    info = getattr(exc, "info", None)
    if info is not None:
        texts.append(json.dumps(info.to_json()))
    for text in texts:
        assert API_KEY not in text
        assert "0123456789abcdef" not in text
