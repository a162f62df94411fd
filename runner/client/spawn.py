"""Starting the HTTP worker process, and keeping one spare so a run's first request need not wait.

A worker takes ~0.2 s to start (an interpreter, then aiohttp, whose import builds a TLS context
from the system's CA store). `runner run` starts one first thing, before it imports the rest of
the runner (~0.2 s on its own), so the two start-ups overlap on two cores instead of adding up.
This module imports only the standard library for that reason: the command's entry point
(:mod:`runner.__main__`) imports it before anything else.

The spare is a module global: one process runs one `runner run`. Whoever starts a spare also
reaps it if nobody took it (:func:`prestarted`); a spare left behind by ``os._exit`` sees its
socket close and exits by itself.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

WORKER_MODULE = "runner.client.worker"
EXIT_WAIT_S = 5.0  # after its socket closes the child exits at once; past this it is killed

Worker = tuple[subprocess.Popen[bytes], socket.socket]  # the child, and our end of its socket

_spare: Worker | None = None


def spawn_worker() -> Worker:
    """A new worker process and our end of the socket pair it answers on."""
    ours, theirs = socket.socketpair()
    with theirs:
        argv = [sys.executable, "-m", WORKER_MODULE, str(theirs.fileno())]
        process = subprocess.Popen(
            argv, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
    return process, ours


def start_spare() -> None:
    """Starts a spare worker unless one is waiting already."""
    global _spare
    if _spare is None:
        _spare = spawn_worker()


def take_spare() -> Worker | None:
    """The waiting spare, now the caller's, or None."""
    global _spare
    spare, _spare = _spare, None
    return spare


def spare_pid() -> int | None:
    return None if _spare is None else _spare[0].pid


@contextmanager
def prestarted() -> Iterator[None]:
    """A spare worker for the block's first transport to take; stopped if still there at the end.

    A spare started earlier (by the entry point) is used, not doubled.
    """
    start_spare()
    try:
        yield
    finally:
        if (spare := take_spare()) is not None:
            spare[1].close()
            reap(spare[0])


def reap(process: subprocess.Popen[bytes]) -> None:
    """Waits for a worker whose socket was closed; kills it if it does not exit."""
    try:
        process.wait(EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
