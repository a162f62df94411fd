"""The HTTP worker process behind :class:`runner.client.remote.ProcessTransport`.

``python -m runner.client.worker FD``: FD is its end of a socket pair. It runs one
:class:`~runner.client.aiohttp_transport.AiohttpTransport` and answers each framed exchange
(the format is in :mod:`runner.client.remote`) as soon as it completes, in any order. It
ignores SIGINT and SIGTERM (the parent decides when requests in flight are abandoned) and exits
when its socket closes: the parent has closed it or died.
"""

from __future__ import annotations

import signal

# Before the imports below (a fraction of a second): a Ctrl-C reaches the whole process group.
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)

import asyncio  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from yarl import URL  # noqa: E402

from runner.client.aiohttp_transport import AiohttpTransport  # noqa: E402
from runner.client.classify import failure_kind, transport_errors  # noqa: E402
from runner.client.remote import FrameChannel  # noqa: E402
from runner.client.transport import BodyTooLargeError  # noqa: E402


class Worker:
    """Runs exchanges as the parent asks for them and sends each answer back."""

    def __init__(self) -> None:
        self.transport: AiohttpTransport | None = None
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.channel = FrameChannel(self.received, self.lost)
        self.done = asyncio.get_running_loop().create_future()

    def received(self, message: tuple[Any, ...]) -> None:
        if message[0] == "config":
            _, timeout_s, connect_timeout_s, max_connections = message
            self.transport = AiohttpTransport(
                timeout_s=timeout_s,
                connect_timeout_s=connect_timeout_s,
                max_connections=max_connections,
            )
            self.transport.open()
        elif len(message) == 1:
            task = self.tasks.pop(message[0], None)
            if task is not None:
                task.cancel()
        else:
            task = asyncio.get_running_loop().create_task(self.exchange(message))
            self.tasks[message[0]] = task

    def lost(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    async def exchange(self, message: tuple[Any, ...]) -> None:
        rid, method, url, headers, body, max_body = message
        assert self.transport is not None, "the parent sends its config first"
        try:
            reply = await self.transport.send(
                method, URL(url, encoded=True), dict(headers), body, max_body
            )
        except BodyTooLargeError as exc:
            answer: tuple[Any, ...] = (rid, -1, "too_large", str(exc), exc.status, exc.limit)
        except transport_errors() as exc:
            answer = (rid, -1, failure_kind(exc), str(exc) or type(exc).__name__, 0, 0)
        else:
            pairs = tuple((str(k), v) for k, v in reply.headers.items())
            answer = (rid, reply.status, reply.reason, pairs, reply.body)
        finally:
            self.tasks.pop(rid, None)
        self.channel.send(answer)


async def serve(fd: int) -> None:
    worker = Worker()
    sock = socket.socket(fileno=fd)
    await asyncio.get_running_loop().connect_accepted_socket(lambda: worker.channel, sock=sock)
    try:
        await worker.done
    finally:
        if worker.transport is not None:
            await worker.transport.aclose()


def main(argv: list[str]) -> None:
    asyncio.run(serve(int(argv[1])))
    # Nothing is left to flush, and interpreter teardown would only cost the parent's wait.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
