"""The simulated provider's memory and its fault decisions, free of any HTTP concerns.

Faults are never decided by arrival order: each decision hashes (seed, fault name, what the
request is about, how many times that same thing was seen before). So a retry of a failed body
can succeed, and two runs with the same seed meet the same faults whatever their concurrency.
"""

from __future__ import annotations

import enum
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.sim import imaging
from runner.sim.catalog import GenerationSpec
from runner.sim.config import SimConfig
from runner.sim.stats import StatsCounter

Clock = Callable[[], float]


class PostFault(enum.Enum):
    """What a generation POST is answered with instead of its normal answer."""

    RATE_LIMITED = "rate_limited"  # 429
    UNAVAILABLE = "unavailable"  # 503
    SERVER_ERROR = "server_error"  # 500
    MALFORMED = "malformed"  # 200 with a truncated body


class TaskPhase(enum.Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class ImageFile:
    """A URL-served image: which bytes, and when its URL is valid (monotonic clock)."""

    name: str
    fmt: str
    width: int
    height: int
    colour: int
    available_at: float
    expires_at: float


@dataclass(frozen=True)
class Task:
    """An async generation task; its phase is a function of time, so it needs no worker."""

    task_id: str
    poll_url: str
    spec: GenerationSpec
    created_at: float  # monotonic
    created_wall: int
    files: tuple[str, ...]
    fails: bool
    cancelled: bool


def canonical_digest(body: Any) -> bytes:
    """Identifies a request body regardless of key order or whitespace."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class TokenBucket:
    """Requests per second with a burst of one second's worth."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = now

    def take(self, now: float) -> float:
        """Spend a token; 0.0 when allowed, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class SimState:
    """Everything the provider remembers: bodies seen, tasks, image files, counters."""

    def __init__(self, config: SimConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.stats = StatsCounter()
        self.started = clock()
        self.files_origin = ""  # set once the image listener is bound
        self._seen: dict[bytes, int] = {}
        self._uses: dict[tuple[str, str], int] = {}
        self.files: dict[str, ImageFile] = {}
        self.tasks: dict[str, Task] = {}
        self._post_shares = tuple(
            (fault, share)
            for fault, share in (
                (PostFault.RATE_LIMITED, config.rate_429),
                (PostFault.UNAVAILABLE, config.rate_503),
                (PostFault.SERVER_ERROR, config.fail_rate),
                (PostFault.MALFORMED, config.malformed_rate),
            )
            if share > 0
        )
        rate = config.rps_limit
        self._bucket = TokenBucket(rate, self.started) if rate is not None else None

    def restart_clock(self) -> None:
        """Outage windows count from when the server starts listening."""
        self.started = self.clock()
        if self._bucket is not None:
            self._bucket = TokenBucket(self._bucket.rate, self.started)

    def draw(self, name: str, key: str, occurrence: int) -> float:
        """A uniform number in [0, 1) fixed by the seed, the fault and the request."""
        text = f"{self.config.seed}|{name}|{key}|{occurrence}".encode()
        value = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")
        return value / 2.0**64

    def in_outage(self, now: float) -> bool:
        start = self.config.outage_start_s
        if start is None:
            return False
        return start <= now - self.started < start + self.config.outage_duration_s

    def rps_wait(self, now: float) -> float:
        return self._bucket.take(now) if self._bucket is not None else 0.0

    def observe(self, digest: bytes) -> int:
        """How many times this body was seen before this request."""
        occurrence = self._seen.get(digest, 0)
        self._seen[digest] = occurrence + 1
        self.stats.body(digest)
        return occurrence

    def use_count(self, kind: str, key: str) -> int:
        """How many times this task was polled / this URL fetched before now."""
        occurrence = self._uses.get((kind, key), 0)
        self._uses[(kind, key)] = occurrence + 1
        return occurrence

    def post_fault(self, key: str, occurrence: int) -> PostFault | None:
        """One draw split between the POST faults, so each fires at exactly its share."""
        if not self._post_shares:
            return None
        u = self.draw("post", key, occurrence)
        for fault, share in self._post_shares:
            if u < share:
                return fault
            u -= share
        return None

    def extra_delay(self, key: str, occurrence: int) -> float:
        if self.config.slow_rate and self.draw("slow", key, occurrence) < self.config.slow_rate:
            return self.config.slow_s
        return 0.0

    def fails(self, name: str, key: str, share: float) -> bool:
        """For polls and downloads: the n-th use of the same task or URL decides."""
        return share > 0 and self.draw(name, key, self.use_count(name, key)) < share

    def make_files(self, spec: GenerationSpec, key: str, occurrence: int, at: float) -> list[str]:
        """Register the answer's images for download, valid from ``at`` for url_ttl_s."""
        names = []
        for index in range(spec.n):
            token = hashlib.blake2b(
                f"{self.config.seed}|file|{key}|{occurrence}|{index}".encode(), digest_size=12
            ).hexdigest()
            name = f"img_{token}.{imaging.EXTENSIONS[spec.fmt]}"
            colour = imaging.colour_index(self.config.seed, spec.prompt, index, spec.model.name)
            expires = at + self.config.url_ttl_s
            self.files[name] = ImageFile(
                name, spec.fmt, spec.width, spec.height, colour, at, expires
            )
            names.append(name)
        return names

    def file_url(self, name: str) -> str:
        return f"{self.files_origin}/files/{name}"

    def create_task(self, spec: GenerationSpec, key: str, occurrence: int) -> Task:
        """A task whose id, poll URL style and fate all follow from the request and the seed."""
        now = self.clock()
        digest = hashlib.blake2b(
            f"{self.config.seed}|task|{key}|{occurrence}".encode(), digest_size=16
        ).digest()
        task_id = f"ldtask_{digest.hex()}"
        # Alternate the two documented poll URL styles, decided by the id, not by order.
        prefix = "/v1/tasks/" if digest[0] % 2 == 0 else "/v1/images/generations/"
        fails = self.draw("task_fail", task_id, 0) < self.config.task_fail_rate
        cancelled = fails and self.draw("cancel", task_id, 0) < 0.25
        ready = now + self.config.task_seconds
        files = [] if fails else self.make_files(spec, key, occurrence, ready)
        task = Task(
            task_id=task_id,
            poll_url=prefix + task_id,
            spec=spec,
            created_at=now,
            created_wall=int(time.time()),
            files=tuple(files),
            fails=fails,
            cancelled=cancelled,
        )
        self.tasks[task_id] = task
        self.stats.count("tasks_created")
        return task

    def phase(self, task: Task, now: float) -> tuple[TaskPhase, float]:
        """The task's phase and progress (0..100) at ``now``."""
        total = self.config.task_seconds
        elapsed = now - task.created_at
        if elapsed >= total:
            return (TaskPhase.FAILED, 100.0) if task.fails else (TaskPhase.COMPLETED, 100.0)
        if elapsed < 0.2 * total:
            return TaskPhase.PENDING, 0.0
        return TaskPhase.PROCESSING, min(99.0, round(100.0 * elapsed / total, 1))
