"""What the simulator saw: counters that tests and benchmarks read to check a client's behaviour.

The server's event loop thread writes; tests read from their own thread, hence the lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SimStats:
    """A snapshot of the counters since start or the last reset."""

    generations: int = 0  # generation POSTs received, whatever their answer
    polls: int = 0
    downloads: int = 0
    models_calls: int = 0
    by_status: Mapping[int, int] = field(default_factory=dict)  # generation POSTs only
    tasks_created: int = 0
    auth_on_image_requests: int = 0  # image downloads that carried Authorization: must stay 0
    bodies_seen: int = 0  # distinct generation request bodies

    def to_json(self) -> dict[str, Any]:
        return {
            "generations": self.generations,
            "polls": self.polls,
            "downloads": self.downloads,
            "models_calls": self.models_calls,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "tasks_created": self.tasks_created,
            "auth_on_image_requests": self.auth_on_image_requests,
            "bodies_seen": self.bodies_seen,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimStats:
        """Read the ``GET /_sim/stats`` answer back (for tests driving a sim subprocess)."""
        fields = {k: v for k, v in data.items() if k != "by_status"}
        by_status = {int(k): int(v) for k, v in data.get("by_status", {}).items()}
        return cls(**fields, by_status=by_status)


class StatsCounter:
    """Mutable counters behind a lock; ``snapshot`` gives a consistent SimStats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._counts: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self._bodies: set[bytes] = set()

    def count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def generation(self, status: int) -> None:
        with self._lock:
            self._counts["generations"] += 1
            self._by_status[status] += 1

    def body(self, digest: bytes) -> None:
        with self._lock:
            self._bodies.add(digest)

    def snapshot(self) -> SimStats:
        with self._lock:
            counts = self._counts
            return SimStats(
                generations=counts["generations"],
                polls=counts["polls"],
                downloads=counts["downloads"],
                models_calls=counts["models_calls"],
                by_status=dict(self._by_status),
                tasks_created=counts["tasks_created"],
                auth_on_image_requests=counts["auth_on_image_requests"],
                bodies_seen=len(self._bodies),
            )

    def reset(self) -> None:
        with self._lock:
            self._reset()
