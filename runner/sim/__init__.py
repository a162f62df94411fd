"""The built-in provider simulator: OpenAI and LemonData-style gateways over real HTTP.

`make run` and the whole test suite talk to it, so it speaks the real dialect (sync and async
answers, polling, error envelopes, rate limits) and injects faults deterministically from a seed.
The server (and aiohttp with it) loads only when asked for, so checking a manifest's simulator
options stays cheap.
"""

from __future__ import annotations

from typing import Any

from runner.sim.config import SimConfig, SimOptionError, option_problems
from runner.sim.stats import SimStats

__all__ = [
    "SimConfig",
    "SimOptionError",
    "SimServer",
    "SimStats",
    "option_problems",
    "serve_forever",
]


def __getattr__(name: str) -> Any:
    if name in ("SimServer", "serve_forever"):
        from runner.sim import server

        return getattr(server, name)
    raise AttributeError(f"module 'runner.sim' has no attribute {name!r}")
