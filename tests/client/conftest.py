"""Fixtures: scripted servers on ephemeral 127.0.0.1 ports and a client pointed at one."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio
from aiohttp import web

from runner.client import ProviderClient
from runner.client.remote import ProcessTransport

from .kit import API_KEY, ScriptServer, start_server


@pytest_asyncio.fixture
async def make_server() -> AsyncIterator[Callable[[], Awaitable[ScriptServer]]]:
    """Start as many servers (distinct ports, so distinct origins) as a test needs."""
    runners: list[web.AppRunner] = []

    async def start() -> ScriptServer:
        server = ScriptServer()
        runners.append(await start_server(server))
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest_asyncio.fixture
async def server(make_server: Callable[[], Awaitable[ScriptServer]]) -> ScriptServer:
    return await make_server()


@pytest_asyncio.fixture(params=["aiohttp", "process"])
async def client(
    server: ScriptServer, request: pytest.FixtureRequest
) -> AsyncIterator[ProviderClient]:
    """The client over each transport: in this process, and in the HTTP worker process (the
    one runs use), so every behaviour tested through it holds for both."""
    transport = ProcessTransport(timeout_s=5.0) if request.param == "process" else None
    async with ProviderClient(
        server.base_url,
        API_KEY,
        timeout_s=5.0,
        headers={"X-Extra": "extra-value"},
        transport=transport,
    ) as provider:
        yield provider


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port bound but never listening: connecting is refused, and no one else can take it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
