"""How fast to send: a token bucket pacer, adaptive concurrency and a circuit breaker.

A good overnight run uses every image per minute the account allows, wastes almost nothing on
429s, sits out an outage instead of failing every item, and never sends in a burst. These pieces
decide only *when* a request may leave; they do no I/O and know nothing of HTTP or the store.

Every component takes a ``clock`` (seconds, monotonic) so tests can drive time. It only ever
measures durations, which are then slept with anyio, so it must tick at the event loop's rate;
``time.monotonic`` is what asyncio itself uses.

"""

from runner.scheduler.limits.breaker import BreakerState, CircuitBreaker
from runner.scheduler.limits.concurrency import AdaptiveConcurrency, Slots
from runner.scheduler.limits.headers import (
    RateLimitHint,
    parse_go_duration,
    parse_ratelimit_headers,
)
from runner.scheduler.limits.pacing import Pacer, TokenBucket

__all__ = [
    "AdaptiveConcurrency",
    "BreakerState",
    "CircuitBreaker",
    "Pacer",
    "RateLimitHint",
    "Slots",
    "TokenBucket",
    "parse_go_duration",
    "parse_ratelimit_headers",
]
