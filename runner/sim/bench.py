"""Throughput of the simulator: small generation POSTs per second over loopback.

The simulator must stay far faster than the runner it measures (>= 5,000 requests/s on a 2-core
machine), or the benchmarks would measure the simulator instead. By default the SimServer runs in
a child process, so the figure is the simulator's capacity and not the load client's: an aiohttp
client costs about as much CPU per request as the server, and sharing one GIL roughly halves both.
The server's CPU time per request is reported too: unlike the rate, it barely moves when other
processes compete for the machine.
Run: ``python -m runner.sim.bench [N] [CONCURRENCY] [--in-process]``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection

import aiohttp

from runner.sim.config import SimConfig
from runner.sim.server import SimServer

_HEADERS = {"Authorization": "Bearer sk-bench"}
_CHILD_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class BenchResult:
    requests: int
    elapsed_s: float
    server_cpu_s: float | None  # None in-process: client and server share the process

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s

    @property
    def server_cpu_us_per_request(self) -> float | None:
        if self.server_cpu_s is None:
            return None
        return self.server_cpu_s / self.requests * 1e6


def measure_rps(n: int = 5000, concurrency: int = 64, in_process: bool = False) -> float:
    """Requests per second for ``n`` small POSTs at ``concurrency`` against a fresh SimServer."""
    return measure(n, concurrency, in_process).rps


def measure(n: int = 5000, concurrency: int = 64, in_process: bool = False) -> BenchResult:
    """Send ``n`` dall-e-2 256x256 url POSTs (distinct prompts); every one must be a 200.

    ``in_process`` runs the server in this process's background thread instead of a child.
    """
    if in_process:
        with SimServer(SimConfig()) as sim:
            elapsed = asyncio.run(_drive(f"{sim.base_url}/images/generations", n, concurrency))
            answered, cpu = sim.stats().by_status.get(200, 0), None
    else:
        elapsed, answered, cpu = _measure_in_child(n, concurrency)
    if answered != n:
        raise RuntimeError(f"expected {n} answers of 200, the simulator counted {answered}")
    return BenchResult(n, elapsed, cpu)


def _measure_in_child(n: int, concurrency: int) -> tuple[float, int, float]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve_child, args=(theirs, SimConfig()), daemon=True)
    child.start()
    try:
        with ours:
            base_url = ours.recv()
            elapsed = asyncio.run(_drive(f"{base_url}/images/generations", n, concurrency))
            ours.send("stop")
            answered, cpu = ours.recv()
    finally:
        child.join(_CHILD_TIMEOUT_S)
        if child.is_alive():
            child.kill()
    return elapsed, int(answered), float(cpu)


def _serve_child(conn: Connection, config: SimConfig) -> None:
    """Child process: serve until told to stop, then report 200s answered and CPU seconds used."""
    with conn, SimServer(config) as sim:
        conn.send(sim.base_url)
        started = time.process_time()
        conn.recv()
        conn.send((sim.stats().by_status.get(200, 0), time.process_time() - started))


async def _drive(url: str, n: int, concurrency: int) -> float:
    counter = iter(range(n))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=_HEADERS) as session:
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(_worker(session, url, counter))
        return time.perf_counter() - started


async def _worker(session: aiohttp.ClientSession, url: str, counter: Iterator[int]) -> None:
    for index in counter:  # workers share one iterator: together they send exactly n
        body = {"model": "dall-e-2", "prompt": f"bench prompt {index}", "size": "256x256"}
        async with session.post(url, json=body) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"unexpected status {response.status}")


def main(argv: list[str]) -> None:
    in_process = "--in-process" in argv
    numbers = [int(a) for a in argv if not a.startswith("--")]
    n = numbers[0] if numbers else 5000
    concurrency = numbers[1] if len(numbers) > 1 else 64
    result = measure(n, concurrency, in_process)
    where = "in-process" if in_process else "child-process"
    line = f"{n} requests, concurrency {concurrency}, {where} server: {result.rps:,.0f} requests/s"
    cpu = result.server_cpu_us_per_request
    print(line if cpu is None else f"{line}; server CPU {cpu:.0f} us/request")


if __name__ == "__main__":
    main(sys.argv[1:])
