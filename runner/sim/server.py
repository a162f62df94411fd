"""Running the simulator: in a background thread for tests (SimServer), or blocking for the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from runner.sim.app import SimApp
from runner.sim.config import SimConfig
from runner.sim.state import SimState
from runner.sim.stats import SimStats

_BACKLOG = 1024  # benchmarks open hundreds of connections at once
_SHUTDOWN_S = 0.25  # in-flight slow answers are cut short on stop; nobody waits for them
_START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Endpoints:
    base_url: str  # e.g. http://127.0.0.1:43121/v1
    origin: str
    files_origin: str  # where image URLs point: the API origin, or the second listener's
    state: SimState


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=_BACKLOG)


def _origin(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def _site(app: web.Application, sock: socket.socket) -> AsyncIterator[None]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_S)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def running(config: SimConfig, host: str, port: int) -> AsyncIterator[Endpoints]:
    """Serve until the block exits; image URLs go to a second listener if image_origin says so."""
    state = SimState(config)
    handlers = SimApp(state)
    other = config.image_origin == "other"
    with contextlib.ExitStack() as sockets:
        api_sock = sockets.enter_context(_bind(host, port))
        files_sock = sockets.enter_context(_bind(host, 0)) if other else api_sock
        async with contextlib.AsyncExitStack() as sites:
            await sites.enter_async_context(_site(handlers.api_app(not other), api_sock))
            if other:
                await sites.enter_async_context(_site(handlers.files_app(), files_sock))
            origin = _origin(api_sock)
            state.files_origin = _origin(files_sock)
            state.restart_clock()
            yield Endpoints(f"{origin}/v1", origin, state.files_origin, state)


class SimServer:
    """The simulator on its own event loop in a background thread; use as a context manager."""

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        self.config = config if config is not None else SimConfig()
        self.host = host
        self.port = port
        self.base_url = ""
        self.origin = ""
        self.files_origin = ""
        self._state: SimState | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving and return once the sockets are listening."""
        self._thread = threading.Thread(target=self._run, name="runner-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError("the simulator did not start listening in time")
        if self._error is not None:
            self._thread.join()
            raise RuntimeError(f"the simulator failed to start: {self._error}") from self._error

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._thread = None

    def stats(self) -> SimStats:
        return self._require_state().stats.snapshot()

    def reset_stats(self) -> None:
        self._require_state().stats.reset()

    def _require_state(self) -> SimState:
        if self._state is None:
            raise RuntimeError("the simulator is not running")
        return self._state

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to start(); the thread must not die silently
            self._error = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with running(self.config, self.host, self.port) as endpoints:
            self.base_url, self.origin = endpoints.base_url, endpoints.origin
            self.files_origin = endpoints.files_origin
            self._state = endpoints.state
            self._ready.set()
            await self._stop.wait()


def serve_forever(config: SimConfig, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Blocking; for `runner sim`. Prints one line with the base URL, stops on SIGINT/SIGTERM."""
    asyncio.run(_serve(config, host, port))


async def _serve(config: SimConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        async with running(config, host, port) as endpoints:
            print(f"simulator listening on {endpoints.base_url}", flush=True)
            await stop.wait()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
