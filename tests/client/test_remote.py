"""The HTTP worker process: framing, a worker dying or being signalled, cancellation, prestart.

What a reply or a failure means is tested through the ``client`` fixture, which runs the client
suites over this transport too; these tests hold what only a second process can get wrong.
"""

from __future__ import annotations

import marshal
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable

import anyio
import pytest
from yarl import URL

from runner.client import remote
from runner.client.remote import ProcessTransport, frame, prestarted, take_frames
from runner.client.transport import TransportFailure

from . import kit
from .kit import ScriptServer


def _process(transport: ProcessTransport) -> int:
    assert transport._process is not None
    return transport._process.pid


def test_take_frames_returns_whole_messages_and_keeps_a_partial_one() -> None:
    """Messages split anywhere across reads come out whole, in order, and only once."""
    wire = frame((1, "GET", "u", (), None, 5)) + frame((2, 200, "OK", (("a", "b"),), b"xy"))
    buffer, seen = bytearray(), []
    for byte in wire:
        buffer.append(byte)
        seen += take_frames(buffer)
    assert seen == [(1, "GET", "u", (), None, 5), (2, 200, "OK", (("a", "b"),), b"xy")]
    assert buffer == bytearray()
    assert marshal.loads(frame((3,))[4:]) == (3,)


@pytest.mark.asyncio
async def test_reply_headers_are_case_insensitive(server: ScriptServer) -> None:
    """Headers cross the process boundary and still look up in any case, as aiohttp's do."""
    server.on("GET", "/h", kit.Reply(status=429, body=b"slow down", headers={"Retry-After": "7"}))
    async with ProcessTransport() as transport:
        reply = await transport.send("GET", URL(f"{server.origin}/h"), {}, None, 100)
    assert (reply.status, reply.body, reply.headers["retry-after"]) == (429, b"slow down", "7")


@pytest.mark.asyncio
async def test_a_killed_worker_fails_what_was_in_flight_as_lost_then_is_replaced(
    server: ScriptServer,
) -> None:
    """Exchanges in flight when the worker dies may have been sent: they fail as "lost"; the
    next exchange starts a new worker."""
    server.on("GET", "/slow", kit.Reply(body=b"late", delay=10.0))
    server.on("GET", "/quick", kit.Reply(body=b"ok"))
    async with ProcessTransport() as transport:
        first = _process(transport)
        await transport.send("GET", URL(f"{server.origin}/quick"), {}, None, 100)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_signal_later, first, signal.SIGKILL)
            failure = await _failure_of(
                transport.send("GET", URL(f"{server.origin}/slow"), {}, None, 100)
            )
        reply = await transport.send("GET", URL(f"{server.origin}/quick"), {}, None, 100)
        assert _process(transport) != first
    assert isinstance(failure, TransportFailure)
    assert failure.kind == "lost"
    assert reply.body == b"ok"


@pytest.mark.asyncio
async def test_cancelled_exchange_is_dropped_and_the_transport_goes_on(
    server: ScriptServer,
) -> None:
    """A cancelled send leaves nothing pending, and the same worker serves the next one."""
    server.on("GET", "/slow", kit.Reply(body=b"late", delay=10.0))
    server.on("GET", "/quick", kit.Reply(body=b"ok"))
    async with ProcessTransport() as transport:
        with anyio.move_on_after(0.3):
            await transport.send("GET", URL(f"{server.origin}/slow"), {}, None, 100)
        worker = _process(transport)
        reply = await transport.send("GET", URL(f"{server.origin}/quick"), {}, None, 100)
        assert (transport._pending, _process(transport)) == ({}, worker)
    assert reply.body == b"ok"


@pytest.mark.asyncio
async def test_worker_ignores_sigint_so_requests_in_flight_finish(server: ScriptServer) -> None:
    """Ctrl-C reaches the whole process group; the worker lets the parent decide what stops."""
    server.on("GET", "/slow", kit.Reply(body=b"done", delay=1.0))
    async with ProcessTransport() as transport:
        await transport.send("GET", URL(f"{server.origin}/slow"), {}, None, 100)  # worker is up
        async with anyio.create_task_group() as tg:
            tg.start_soon(_signal_later, _process(transport), signal.SIGINT)
            reply = await transport.send("GET", URL(f"{server.origin}/slow"), {}, None, 100)
    assert reply.body == b"done"


async def _failure_of(exchange: Awaitable[object]) -> BaseException | None:
    try:
        await exchange
    except Exception as exc:
        return exc
    return None


async def _signal_later(pid: int, signum: int) -> None:
    await anyio.sleep(0.3)
    os.kill(pid, signum)


@pytest.mark.asyncio
async def test_prestarted_worker_is_taken_by_the_first_transport(server: ScriptServer) -> None:
    """The worker started ahead of time is the one the run's transport uses."""
    server.on("GET", "/quick", kit.Reply(body=b"ok"))
    with prestarted():
        assert remote._spare is not None
        spare = remote._spare[0].pid
        async with ProcessTransport() as transport:
            reply = await transport.send("GET", URL(f"{server.origin}/quick"), {}, None, 100)
            assert _process(transport) == spare
        assert remote._spare is None
    assert reply.body == b"ok"


def test_untaken_prestarted_worker_exits_when_the_block_ends() -> None:
    """A run that ends before sending (a bad manifest, say) leaves no worker behind: the worker
    exits by itself once its socket closes."""
    with prestarted():
        assert remote._spare is not None
        process = remote._spare[0]
    assert process.returncode == 0


def test_a_runs_own_process_does_not_import_aiohttp() -> None:
    """The CLI and scheduler leave aiohttp (~0.2 s to import) to the HTTP worker."""
    code = "import sys, runner.cli, runner.scheduler.run; print('aiohttp' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
