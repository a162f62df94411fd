"""Headless Chromium driven over the DevTools protocol (CDP), with no dependency beyond aiohttp.

``--dump-dom`` cannot tell whether an image loaded; CDP lets a test run JavaScript in the loaded
page and read back plain values. With ``--remote-debugging-port=0`` Chromium listens on an
ephemeral port and writes it to ``<user-data-dir>/DevToolsActivePort``; one websocket to the
browser then drives a page through a flattened session (``sessionId`` on each message).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import aiohttp

CHROMIUM = Path("/usr/bin/chromium")
# From the machine notes: without the background-networking flags Chromium keeps dialling
# Google's hosts, which this closed network refuses; --no-sandbox because CI runs as root.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
START_TIMEOUT_S = 30.0


class CdpError(RuntimeError):
    """Chromium answered a command with an error, or a script threw."""


class Cdp:
    """One websocket to the browser; commands are sent one at a time and answered in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._last_id = 0
        self._events: list[dict[str, Any]] = []  # events that arrived while awaiting a reply

    async def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send a command and return its ``result``."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self._ws.send_json(message)
        while True:
            reply = await self._receive()
            if reply.get("id") != self._last_id:
                self._events.append(reply)
                continue
            if "error" in reply:
                raise CdpError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply["result"]
            return result

    async def wait_event(self, method: str, session: str) -> dict[str, Any]:
        """The first event ``method`` from ``session``, whether it already came or is to come."""
        for event in self._events:
            if event.get("method") == method and event.get("sessionId") == session:
                self._events.remove(event)
                return event
        while True:
            event = await self._receive()
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    async def _receive(self) -> dict[str, Any]:
        message = await self._ws.receive()
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise CdpError(f"browser connection ended: {message.type.name}")
        data: dict[str, Any] = message.json()
        return data

    async def open_page(self, url: str) -> str:
        """A new tab with ``url`` loaded (its load event fired); returns the page's session id."""
        target = await self.call("Target.createTarget", url="about:blank")
        attached = await self.call(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        session: str = attached["sessionId"]
        await self.call("Page.enable", session)
        navigated = await self.call("Page.navigate", session, url=url)
        if "errorText" in navigated:
            raise CdpError(f"navigation to {url} failed: {navigated['errorText']}")
        await self.wait_event("Page.loadEventFired", session)
        return session

    async def evaluate(self, session: str, expression: str) -> Any:
        """The value of a JavaScript expression in the page, awaited if it is a promise."""
        result = await self.call(
            "Runtime.evaluate",
            session,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise CdpError(f"script threw: {result['exceptionDetails']}")
        return result["result"].get("value")


async def _devtools_url(profile: Path, process: asyncio.subprocess.Process) -> str:
    """The browser's websocket URL, from the file Chromium writes once it listens."""
    port_file = profile / "DevToolsActivePort"
    async with asyncio.timeout(START_TIMEOUT_S):
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if process.returncode is not None:
                raise CdpError(f"chromium exited with {process.returncode} before listening")
            await asyncio.sleep(0.05)
    port, path = port_file.read_text().splitlines()[:2]
    return f"ws://127.0.0.1:{port}{path}"


@contextlib.asynccontextmanager
async def chromium(profile: Path, stderr: IO[bytes]) -> AsyncIterator[Cdp]:
    """A headless Chromium with a fresh profile, killed and reaped when the block ends."""
    process = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        *FLAGS,
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        url = await _devtools_url(profile, process)
        async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
            yield Cdp(ws)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
