"""The built-in provider simulator: OpenAI and LemonData-style gateways over real HTTP.

`make run` and the whole test suite talk to it, so it speaks the real dialect (sync and async
answers, polling, error envelopes, rate limits) and injects faults deterministically from a seed.
"""

from runner.sim.config import SimConfig, SimOptionError, option_problems
from runner.sim.server import SimServer, serve_forever
from runner.sim.stats import SimStats

__all__ = [
    "SimConfig",
    "SimOptionError",
    "SimServer",
    "SimStats",
    "option_problems",
    "serve_forever",
]
