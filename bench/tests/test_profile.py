"""The B1 profile's attribution of py-spy samples to kinds of work."""

from __future__ import annotations

from bench.profile_b1 import classify, main_thread_samples

AIOHTTP_WRITE = "write (asyncio/selector_events.py:1057)"
SEND = "send (runner/client/transport.py:146)"
LOG = "event (runner/log.py:218)"
DUMPS = "dumps (json/__init__.py:238)"
ENGINE = "_submit (runner/scheduler/engine.py:180)"


def test_innermost_known_frame_decides_the_kind() -> None:
    """A library frame counts for the runner code that called it, the innermost caller first."""
    assert classify([ENGINE, SEND, AIOHTTP_WRITE]) == "HTTP: client and aiohttp"
    assert classify([ENGINE, LOG, DUMPS]) == "run.log"
    assert classify([ENGINE]) == "scheduler (engine, limits, feed)"
    assert classify(["run (asyncio/events.py:80)"]) == "event loop and other"


def test_imports_and_idle_are_their_own_kinds() -> None:
    """Anything under an import is start-up; a sample parked in select is idle."""
    assert classify(
        ["<module> (runner/cli.py:1)", "_find_and_load (<frozen importlib._bootstrap>:1)"]
    ) == ("imports (start-up)")
    assert classify(["run_forever (x.py:1)", "EpollSelector.select (selectors.py:468)"]) == (
        "idle: waiting for answers or commits"
    )


def test_only_the_main_thread_counts_named_or_not() -> None:
    """Samples of the main thread count before and after it is named; other threads never."""
    raw = [
        f"thread (7);{ENGINE};{SEND} 3\n",
        f"thread (7): MainThread;{ENGINE};{LOG} 2\n",
        f"thread (9): AnyIO worker thread;{ENGINE} 5\n",
    ]
    counts = main_thread_samples(raw)
    assert counts == {"HTTP: client and aiohttp": 3, "run.log": 2}
