"""Named crash points for the kill -9 acceptance tests.

``RUNNER_CRASH_AT=point[:n]`` makes the process SIGKILL itself the n-th time (default 1st) it
reaches ``point``: no cleanup, no flush, exactly like the OOM killer or a power cut. Unset (always,
outside tests), a crash point costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = frozenset(
    {
        "after_intent",  # intent committed, POST not yet sent
        "after_answer",  # answer received, not yet committed
        "after_task_id",  # task_id committed, not yet polled
        "mid_poll",  # a poll answered, not yet acted on
        "after_file_write",  # image files on disk, item not yet marked done
        "during_outputs",  # metadata.jsonl being rewritten
    }
)

_target: tuple[str, int] | None = None
_hits: dict[str, int] = {}


def _parse(spec: str) -> tuple[str, int] | None:
    name, _, count = spec.partition(":")
    if name not in POINTS:
        return None
    return name, int(count or 1)


def arm(spec: str | None = None) -> None:
    """Reads the crash point from the environment (or ``spec``); called once at start-up."""
    global _target
    spec = spec if spec is not None else os.environ.get("RUNNER_CRASH_AT", "")
    _target = _parse(spec) if spec else None
    _hits.clear()


def reach(name: str) -> None:
    """Dies here by SIGKILL if this is the armed point's n-th hit."""
    if _target is None or _target[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= _target[1]:
        os.kill(os.getpid(), signal.SIGKILL)


arm()
