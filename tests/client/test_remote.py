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

from runner.client import spawn
from runner.client.remote import ProcessTransport, frame, take_frames
from runner.client.spawn import prestarted
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
        spare = spawn.spare_pid()
        assert spare is not None
        async with ProcessTransport() as transport:
            reply = await transport.send("GET", URL(f"{server.origin}/quick"), {}, None, 100)
            assert _process(transport) == spare
        assert spawn.spare_pid() is None
    assert reply.body == b"ok"


def test_untaken_prestarted_worker_exits_when_the_block_ends() -> None:
    """A run that ends before sending (a bad manifest, say) leaves no worker behind: the worker
    exits by itself once its socket closes, and is reaped."""
    with prestarted():
        pid = spawn.spare_pid()
        assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_runner_run_starts_its_worker_before_importing_the_runner() -> None:
    """`runner run` starts the HTTP worker before importing the CLI, so the two start-ups overlap;
    a run that then fails on its manifest still exits 2 and reaps the worker."""
    code = """
import sys
import runner.client.spawn as spawn
real = spawn.spawn_worker
def spy():
    print("cli imported first:", "runner.cli" in sys.modules, flush=True)
    return real()
spawn.spawn_worker = spy
sys.argv = ["runner", "run", "no-such-job.yaml"]
from runner.__main__ import main
main()
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "cli imported first: False"
    assert result.returncode == 2
    assert "no-such-job.yaml" in result.stderr


def test_a_runs_own_process_imports_none_of_the_heavy_libraries() -> None:
    """The CLI and scheduler leave aiohttp (~0.2 s to import) to the HTTP worker, and import
    neither structlog nor rich (~45 ms; run.log renders its own lines), pydantic nor httpx."""
    heavy = ("aiohttp", "structlog", "rich", "pydantic", "httpx")
    code = (
        "import sys, runner.cli, runner.scheduler.run; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
