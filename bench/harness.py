"""What every benchmark needs: a simulator process, timed child processes, job files.

The runner and its competitors run as child processes so that each is measured from process
start to exit, interpreter start-up included, exactly as a user meets it; the simulator runs in
a process of its own so that it never shares a GIL with what it measures.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from runner.sim.stats import SimStats

REPO = Path(__file__).resolve().parent.parent
KEY_ENV = "BENCH_API_KEY"
# The simulator accepts any bearer token; this one only has to be present.
BENCH_KEY = "sk-bench-not-a-real-key"
SIM_START_TIMEOUT_S = 20.0
SIM_STOP_TIMEOUT_S = 10.0
LISTENING = "simulator listening on "
PYCACHE = Path(tempfile.gettempdir()) / "runner-bench-pycache"


class BenchError(RuntimeError):
    """A benchmark could not measure what it set out to (a child failed, a count is off)."""


@dataclass(frozen=True)
class Context:
    """Where a benchmark may write, and whether to run its small version (``--quick``)."""

    workdir: Path
    quick: bool = False

    def dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def free_port() -> int:
    """A port that was free a moment ago; the simulator binds it right after."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    """The bench key, and compiled bytecode cached as in any normal install.

    Some environments set PYTHONDONTWRITEBYTECODE, which would make every child compile the
    runner's sources at start-up (a few hundred ms a process that users never pay); the cache
    goes to a prefix outside the repository instead. ``warm_bytecode`` fills it up front.
    """
    env = {**os.environ, KEY_ENV: BENCH_KEY, "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_bytecode(log_dir: Path) -> None:
    """Compiles runner/ and bench/ once, so no measured child pays for compiling them."""
    argv = python_module("compileall", "-q", REPO / "runner", REPO / "bench")
    run_process(argv, log_dir, "compileall", timeout_s=300).check("compileall")


# -- child processes --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessRun:
    """One child process, measured by its parent from spawn to reaped exit."""

    exit_code: int
    started_at: float  # time.time() just before spawning, to line up with DB timestamps
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def check(self, what: str, ok: Sequence[int] = (0,)) -> ProcessRun:
        if self.exit_code not in ok:
            tail = "\n".join(self.stderr.strip().splitlines()[-15:])
            raise BenchError(f"{what} exited {self.exit_code}:\n{tail}")
        return self


@contextlib.contextmanager
def spawn(argv: Sequence[str], log_dir: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """Starts ``argv`` from the repository root with its output going to files in ``log_dir``.

    Files, not pipes: nobody reads while the child runs, and a full pipe would stall it and
    skew the timing. Leaving the block kills a child that is still running.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    with (
        (log_dir / f"{name}.out").open("wb") as out,
        (log_dir / f"{name}.err").open("wb") as err,
        subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO, env=child_env()) as proc,
    ):
        try:
            yield proc
        finally:
            if proc.returncode is None and proc.poll() is None:
                proc.kill()


def run_process(argv: Sequence[str], log_dir: Path, name: str, timeout_s: float) -> ProcessRun:
    """Runs ``argv`` to its end; its rusage is its own (os.wait4), not a sum over children."""
    started_at, started = time.time(), time.perf_counter()
    with spawn(argv, log_dir, name) as proc:
        watchdog = threading.Timer(timeout_s, proc.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if wall >= timeout_s:
        raise BenchError(f"{name} did not finish within {timeout_s:.0f} s (killed)")
    return ProcessRun(
        exit_code=proc.returncode,
        started_at=started_at,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        stdout=(log_dir / f"{name}.out").read_text(encoding="utf-8", errors="replace"),
        stderr=(log_dir / f"{name}.err").read_text(encoding="utf-8", errors="replace"),
    )


def python_module(module: str, *args: str | Path) -> list[str]:
    return [sys.executable, "-m", module, *map(str, args)]


def run_runner(
    job: Path, out: Path, log_dir: Path, name: str, *extra: str, timeout_s: float = 300.0
) -> ProcessRun:
    """`runner run JOB --out OUT --quiet`, checked for exit 0."""
    argv = python_module("runner", "run", job, "--out", out, "--quiet", *extra)
    return run_process(argv, log_dir, name, timeout_s).check(f"runner run ({name})")


# -- the simulator ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SimOptions:
    """The `runner sim` flags a benchmark needs."""

    latency_s: float = 0.0
    task_seconds: float = 2.0
    seed: int = 1
    rps_limit: float | None = None
    outage: tuple[float, float] | None = None  # (start, duration) from the server's start

    def argv(self, port: int) -> list[str]:
        return [
            *python_module(
                "runner",
                "sim",
                "--port",
                str(port),
                "--latency",
                str(self.latency_s),
                "--task-seconds",
                str(self.task_seconds),
                "--seed",
                str(self.seed),
            ),
            *self._limits(),
        ]

    def _limits(self) -> list[str]:
        flags = [] if self.rps_limit is None else ["--rps-limit", str(self.rps_limit)]
        if self.outage is not None:
            start, duration = self.outage
            flags += ["--outage-start", str(start), "--outage-duration", str(duration)]
        return flags


class SimProcess:
    """`runner sim` in its own process for the duration of a ``with`` block."""

    def __init__(self, options: SimOptions, log_dir: Path) -> None:
        self.options = options
        self.log_path = log_dir / "sim.err"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.base_url = ""
        self.origin = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> SimProcess:
        with self.log_path.open("w") as log:
            self._proc = subprocess.Popen(
                self.options.argv(free_port()),
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=REPO,
                env=child_env(),
                text=True,
            )
        try:
            self.base_url = self._await_listening(self._proc)
        except BaseException:
            self._stop()
            raise
        self.origin = self.base_url.removesuffix("/v1")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _await_listening(self, proc: subprocess.Popen[str]) -> str:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], SIM_START_TIMEOUT_S)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith(LISTENING):
            log = self.log_path.read_text(encoding="utf-8", errors="replace")
            raise BenchError(f"the simulator did not start: {line!r}\n{log[-2000:]}")
        return line[len(LISTENING) :].strip()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with proc:
            proc.send_signal(signal.SIGTERM)  # serve_forever stops cleanly on SIGTERM
            try:
                proc.wait(SIM_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stats(self) -> SimStats:
        with urllib.request.urlopen(f"{self.origin}/_sim/stats", timeout=10) as reply:
            return SimStats.from_json(json.loads(reply.read()))

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.origin}/_sim/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()


class FirstPost:
    """Watches the simulator's counters and notes when its first generation POST is answered.

    The sim counts a POST once answered, so this is at most one poll interval plus one loopback
    round trip after the POST arrived: a few milliseconds against goals of seconds.
    """

    def __init__(self, sim: SimProcess, interval_s: float = 0.002) -> None:
        self.sim = sim
        self.interval_s = interval_s
        self.at: float | None = None  # time.time() when first seen
        self._seen = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="first-post", daemon=True)

    def __enter__(self) -> FirstPost:
        if self.sim.stats().generations:
            raise BenchError("the simulator has already seen a generation POST")
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def wait(self, timeout_s: float) -> float:
        """Blocks until the first POST is seen; returns its time.time()."""
        if not self._seen.wait(timeout_s) or self.at is None:
            raise BenchError(f"no generation POST reached the simulator within {timeout_s:.0f} s")
        return self.at

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self.sim.stats().generations:
                self.at = time.time()
                self._seen.set()
                return
            self._stop.wait(self.interval_s)


# -- job files and what a run left behind -----------------------------------------------------


def write_prompts(path: Path, count: int, template: str) -> Path:
    """``count`` distinct prompts, one a line; ``template`` takes ``{i}``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(template.format(i=i) + "\n")
    return path


def write_job(path: Path, base_url: str, body: str) -> Path:
    """A manifest pointing at ``base_url`` with the bench key variable, then ``body``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = f"provider:\n  base_url: {base_url}\n  api_key_env: {KEY_ENV}\n"
    path.write_text(head + body, encoding="utf-8")
    return path


def read_report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return data


def done_times(out: Path) -> list[float]:
    """When each done item was recorded done (the store's updated_at, epoch seconds), sorted."""
    with closing(sqlite3.connect(out / "state.sqlite")) as conn:
        rows = conn.execute(
            "SELECT updated_at FROM items WHERE state = 'done' ORDER BY updated_at"
        ).fetchall()
    return [float(r[0]) for r in rows]


def expect_done(out: Path, count: int) -> dict[str, Any]:
    """The run's report, after checking that exactly ``count`` items are done."""
    report = read_report(out)
    done = report["items"]["done"]
    if done != count:
        raise BenchError(f"{out}: expected {count} items done, report.json says {done}")
    return report
